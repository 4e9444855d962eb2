import { skipGoSpace } from "./go-space.js";

/** The three directives BuildKit knows. */
export type DirectiveName = "syntax" | "escape" | "check";

/** A directive found by the scanner; `line` is 1-based. */
export interface FoundDirective {
  name: DirectiveName;
  value: string;
  line: number;
}

/** A repeated directive; `reason` uses BuildKit's wording. */
export class DirectiveError extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

const KNOWN = new Set<string>(["syntax", "escape", "check"]);
// BuildKit matches `^([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$` (Go: `\s` is [\t\n\f\r ]).
// The value part is done by hand: that lazy group backtracks quadratically in JavaScript.
const DIRECTIVE_NAME = /^([a-zA-Z][a-zA-Z0-9]*)[\t\n\f\r ]*=/;

function isRegexpSpace(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0c || code === 0x0d;
}

/** The value as `\s*(.+?)\s*$` captures it: trimmed, yet never empty when text is not. */
function directiveValue(text: string): string | undefined {
  if (text.length === 0) return undefined;
  let start = 0;
  while (start < text.length && isRegexpSpace(text.charCodeAt(start))) start++;
  // All blank: the greedy leading \s* leaves one character for (.+?).
  if (start === text.length) return text[text.length - 1];
  let end = text.length;
  while (isRegexpSpace(text.charCodeAt(end - 1))) end--;
  return text.slice(start, end);
}

/**
 * BuildKit's directive scanner. Lines are fed one at a time; directives are recognised
 * only in the leading run of `# name=value` lines, and the first line that is not one
 * (an empty line, a plain comment, an unknown name, an instruction) ends the section.
 */
export class DirectiveScanner {
  private line: number;
  private done = false;
  private readonly seen = new Set<string>();

  constructor(private readonly prefix = "#", firstLine = 0) {
    this.line = firstLine;
  }

  /** True once the directive section is over. */
  get finished(): boolean {
    return this.done;
  }

  /** Reads one line (without its line ending); returns the directive it holds, if any. */
  scanLine(text: string): FoundDirective | undefined {
    this.line++;
    if (this.done) return undefined;
    if (!text.startsWith(this.prefix)) {
      this.done = true;
      return undefined;
    }
    const body = text.slice(skipGoSpace(text, this.prefix.length));
    const match = DIRECTIVE_NAME.exec(body);
    const name = match?.[1].toLowerCase();
    const value = match ? directiveValue(body.slice(match[0].length)) : undefined;
    if (!match || name === undefined || value === undefined || !KNOWN.has(name)) {
      this.done = true;
      return undefined;
    }
    if (this.seen.has(name)) throw new DirectiveError(`only one ${name} parser directive can be used`);
    this.seen.add(name);
    return { name: name as DirectiveName, value, line: this.line };
  }
}

/** BuildKit's `ParseAll`: every directive at the top of `text`, or an error for a repeated one. */
export function parseDirectives(text: string): FoundDirective[] {
  const scanner = new DirectiveScanner();
  const found: FoundDirective[] = [];
  for (const line of splitScannerLines(text)) {
    if (scanner.finished) break;
    const directive = scanner.scanLine(line);
    if (directive) found.push(directive);
  }
  return found;
}

/** A directive as `detectSyntax` reports it: the first word, the whole value, its line. */
export interface DetectedDirective {
  /** The value up to the first space: `docker/dockerfile:1`. */
  ref: string;
  /** The whole value, options included. */
  cmdline: string;
  /** 1-based; 0 for the JSON form. */
  line: number;
}

/**
 * BuildKit's `DetectSyntax`: the `syntax` directive as `# syntax=`, `// syntax=` or a JSON
 * `{"syntax": ...}` document, skipping a UTF-8 BOM and a `#!` first line.
 */
export function detectSyntax(text: string): DetectedDirective | undefined {
  return detectDirective("syntax", text, true);
}

/** BuildKit's `ParseDirective` for one key (`check`): only the `#` form. */
export function findDirective(name: DirectiveName, text: string): DetectedDirective | undefined {
  return detectDirective(name, text, false);
}

function detectDirective(name: DirectiveName, text: string, anyFormat: boolean): DetectedDirective | undefined {
  let body = text.startsWith("\ufeff") ? text.slice(1) : text;
  let line = 0;
  const firstEnd = body.indexOf("\n");
  if (body.startsWith("#!")) {
    body = firstEnd < 0 ? "" : body.slice(firstEnd + 1);
    line = 1;
  }
  const prefixes = anyFormat ? ["#", "//"] : ["#"];
  for (const prefix of prefixes) {
    const found = scanFor(name, body, new DirectiveScanner(prefix, line));
    if (found) return found;
  }
  if (!anyFormat) return undefined;
  try {
    const parsed: unknown = JSON.parse(body);
    if (parsed !== null && typeof parsed === "object" && !Array.isArray(parsed)) {
      const value = (parsed as Record<string, unknown>)[name];
      if (typeof value === "string") return { ref: value, cmdline: value, line };
    }
  } catch {
    // Not JSON: no directive.
  }
  return undefined;
}

function scanFor(name: DirectiveName, body: string, scanner: DirectiveScanner): DetectedDirective | undefined {
  try {
    for (const line of splitScannerLines(body)) {
      if (scanner.finished) break;
      const directive = scanner.scanLine(line);
      if (directive?.name === name) {
        const space = directive.value.indexOf(" ");
        return { ref: space < 0 ? directive.value : directive.value.slice(0, space), cmdline: directive.value, line: directive.line };
      }
    }
  } catch (error) {
    if (!(error instanceof DirectiveError)) throw error;
  }
  return undefined;
}

/** Lines as Go's bufio.ScanLines gives them: split at \n, one trailing \r dropped. */
function splitScannerLines(text: string): string[] {
  if (text.length === 0) return [];
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  return lines.map((line) => (line.endsWith("\r") ? line.slice(0, -1) : line));
}
