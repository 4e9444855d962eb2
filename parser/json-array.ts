import { skipGoSpace } from "./go-space.js";

/** What BuildKit's exec-form detection makes of an argument text. */
export type JsonArrayResult =
  | { kind: "strings"; values: string[]; spans: Array<[number, number]> }
  | { kind: "not-json" }
  | { kind: "not-strings" };

// Go's encoding/json refuses nesting deeper than this, as a syntax error.
const GO_MAX_DEPTH = 10000;

/**
 * BuildKit's exec-form test: after leading whitespace the text must start with `[` and
 * be valid JSON. An array of strings is the exec form (`spans` locate each element's
 * literal in `text`); valid JSON with any other element is a hard error (`not-strings`);
 * anything else quietly falls back to the shell form (`not-json`).
 * Go's decoder differs from JSON.parse in three ways we follow: a lone surrogate escape
 * decodes to U+FFFD, a number too large for a float64 is an error rather than Infinity,
 * and nesting deeper than 10000 levels is a syntax error.
 */
export function parseJsonArray(text: string): JsonArrayResult {
  const start = skipGoSpace(text);
  if (text.charCodeAt(start) !== 0x5b /* [ */) return { kind: "not-json" };
  const body = text.slice(start);
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return { kind: "not-json" };
  }
  if (!Array.isArray(parsed)) return { kind: "not-json" };
  if (!parsed.every((item) => typeof item === "string")) {
    if (maxDepth(body) > GO_MAX_DEPTH || hasOverflowingNumber(body)) return { kind: "not-json" };
    return { kind: "not-strings" };
  }
  const values = (parsed as string[]).map(replaceLoneSurrogates);
  return { kind: "strings", values, spans: stringSpans(body, start) };
}

function replaceLoneSurrogates(value: string): string {
  return /[\ud800-\udfff]/.test(value) ? value.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, "\ufffd") : value;
}

/** Spans of the top-level string literals of a valid JSON array of strings. */
function stringSpans(body: string, base: number): Array<[number, number]> {
  const spans: Array<[number, number]> = [];
  for (let i = 0; i < body.length; i++) {
    if (body.charCodeAt(i) !== 0x22) continue;
    const open = i;
    for (i++; i < body.length && body.charCodeAt(i) !== 0x22; i++) {
      if (body.charCodeAt(i) === 0x5c) i++;
    }
    spans.push([base + open, base + i + 1]);
  }
  return spans;
}

/** Deepest bracket nesting, outside string literals. */
function maxDepth(body: string): number {
  let depth = 0;
  let max = 0;
  for (let i = 0; i < body.length; i++) {
    const c = body.charCodeAt(i);
    if (c === 0x22) {
      for (i++; i < body.length && body.charCodeAt(i) !== 0x22; i++) {
        if (body.charCodeAt(i) === 0x5c) i++;
      }
    } else if (c === 0x5b || c === 0x7b) {
      depth++;
      if (depth > max) max = depth;
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
  return max;
}

function hasOverflowingNumber(body: string): boolean {
  let overflow = false;
  JSON.parse(body, (_key, value: unknown) => {
    if (typeof value === "number" && !Number.isFinite(value)) overflow = true;
    return value;
  });
  return overflow;
}
