/**
 * The glob patterns of `${v#p}`, `${v%p}`, `${v/p/r}` and their doubled forms, matched the
 * way BuildKit matches them. BuildKit turns a pattern into a Go (RE2) regular expression:
 * `*` becomes `.*` (or `.*?` for the shortest match), `?` becomes `.`, `\*`, `\?` and `\\`
 * are literal, `\}` and `\/` drop the backslash, every other character is literal (so
 * `[...]` is NOT a bracket expression) and any other escape is an error. Like Go's `.`,
 * `*` and `?` never match a line feed. Matching follows RE2's leftmost-first rule.
 *
 * Instead of building a regex we run a small priority-ordered NFA (a Pike VM) over the
 * pattern's tokens: time is O(text × pattern) at worst and memory O(pattern), so no input
 * can make it backtrack exponentially.
 */

const STAR = -1;
const ANY = -2;
const LINE_FEED = 0x0a;
const BYTE_ORDER_MARK = 0xfeff;
const REPLACEMENT_CHARACTER = 0xfffd;

/** A pattern compiled to tokens: a code point, `ANY` (`?`) or `STAR` (`*`). */
export interface ShellPattern {
  readonly tokens: readonly number[];
}

/** A compile failure, worded like Go's (`invalid escape '\x'`). */
export interface ShellPatternError {
  readonly error: string;
}

/** Text prepared for matching: its code points and the UTF-16 offset of each. */
interface MatchText {
  readonly source: string;
  readonly points: readonly number[];
  /** `offsets[i]` is where code point `i` starts; `offsets[points.length]` is `source.length`. */
  readonly offsets: readonly number[];
}

/** Splits `source` into code points; a lone surrogate counts as one. */
function toMatchText(source: string): MatchText {
  const points: number[] = [];
  const offsets: number[] = [];
  for (let i = 0; i < source.length; ) {
    const point = source.codePointAt(i) as number;
    points.push(point);
    offsets.push(i);
    i += point > 0xffff ? 2 : 1;
  }
  offsets.push(source.length);
  return { source, points, offsets };
}

function codePoints(text: string): number[] {
  return Array.from(text, (char) => char.codePointAt(0) as number);
}

/**
 * Compiles a pattern as BuildKit does. The Go scanner it reads the pattern with skips a
 * byte order mark at the very start, so this does too.
 */
export function compileShellPattern(pattern: string): ShellPattern | ShellPatternError {
  const points = codePoints(pattern);
  const tokens: number[] = [];
  let i = points[0] === BYTE_ORDER_MARK ? 1 : 0;
  while (i < points.length) {
    const point = points[i++];
    if (point === 0x2a) {
      tokens.push(STAR);
    } else if (point === 0x3f) {
      tokens.push(ANY);
    } else if (point === 0x5c) {
      const next = points[i];
      // `\}` and `\/` are how `}` and `/` get into a pattern; the backslash is not part of it.
      if (next === 0x7d || next === 0x2f) continue;
      i++;
      if (next !== 0x2a && next !== 0x3f && next !== 0x5c) {
        const shown = next === undefined ? String.fromCodePoint(REPLACEMENT_CHARACTER) : String.fromCodePoint(next);
        return { error: `invalid escape '\\${shown}'` };
      }
      tokens.push(next);
    } else {
      tokens.push(point);
    }
  }
  return { tokens };
}

/** True when `compileShellPattern` failed. */
export function isPatternError(value: ShellPattern | ShellPatternError): value is ShellPatternError {
  return "error" in value;
}

/**
 * Reverses a pattern but keeps each `\x` pair in order (`a\*c` becomes `c\*a`), so that a
 * suffix search can run as a prefix search over the reversed text, as BuildKit does.
 */
export function reverseShellPattern(pattern: string): string {
  const points = codePoints(pattern);
  const out = new Array<number>(points.length);
  const last = points.length - 1;
  for (let i = 0; i <= last; ) {
    if (points[i] === 0x5c && i !== last) {
      out[last - i - 1] = 0x5c;
      out[last - i] = points[i + 1];
      i += 2;
    } else {
      out[last - i] = points[i];
      i++;
    }
  }
  return out.map((point) => String.fromCodePoint(point)).join("");
}

/** How to search. */
export interface MatchOptions {
  /** Only a match that starts at `from` counts (a `^` in front of the regex). */
  anchored: boolean;
  /** `*` prefers the longest run (`.*`) instead of the shortest (`.*?`). */
  greedy: boolean;
}

/**
 * A priority-ordered NFA simulation of one pattern. Its buffers are reused between
 * searches, which matters for `//` over a long value.
 */
class PatternMatcher {
  private readonly tokens: readonly number[];
  private readonly size: number;
  private readonly marks: Int32Array;
  private currentNodes: Int32Array;
  private currentStarts: Int32Array;
  private nextNodes: Int32Array;
  private nextStarts: Int32Array;
  /** Stamps the thread list of one text position; never reused, so marks need no clearing. */
  private stamp = 0;

  constructor(
    pattern: ShellPattern,
    private readonly greedy: boolean,
  ) {
    this.tokens = pattern.tokens;
    this.size = pattern.tokens.length;
    // Node ids: 0..size are "at token i" (size = matched); size+1+i is "inside star i".
    const nodeCount = 2 * this.size + 2;
    this.marks = new Int32Array(nodeCount).fill(-1);
    this.currentNodes = new Int32Array(nodeCount);
    this.currentStarts = new Int32Array(nodeCount);
    this.nextNodes = new Int32Array(nodeCount);
    this.nextStarts = new Int32Array(nodeCount);
  }

  /**
   * Adds the threads reachable from token `first` without reading a character, in priority
   * order: a greedy star tries another character before moving on, a lazy one after. A node
   * already in the list keeps its earlier, higher-priority thread.
   */
  private add(nodes: Int32Array, starts: Int32Array, length: number, first: number, start: number, stamp: number): number {
    const { tokens, size, marks } = this;
    let node = first;
    while (node < size && tokens[node] === STAR && marks[node] !== stamp) {
      marks[node] = stamp;
      if (this.greedy && marks[size + 1 + node] !== stamp) {
        marks[size + 1 + node] = stamp;
        nodes[length] = size + 1 + node;
        starts[length++] = start;
      }
      node++;
    }
    if (marks[node] !== stamp) {
      marks[node] = stamp;
      nodes[length] = node;
      starts[length++] = start;
    }
    if (!this.greedy) {
      for (let star = node - 1; star >= first; star--) {
        if (marks[size + 1 + star] === stamp) continue;
        marks[size + 1 + star] = stamp;
        nodes[length] = size + 1 + star;
        starts[length++] = start;
      }
    }
    return length;
  }

  find(points: readonly number[], from: number, anchored: boolean): [number, number] | undefined {
    const { tokens, size } = this;
    // An unanchored search can skip to where a leading literal occurs.
    const lead = size > 0 && tokens[0] >= 0 ? tokens[0] : undefined;
    let currentLength = 0;
    let matchStart = -1;
    let matchEnd = -1;
    let stamp = ++this.stamp;
    for (let position = from; ; position++) {
      if (matchStart < 0 && (position === from || !anchored)) {
        if (currentLength === 0 && lead !== undefined && !anchored) {
          while (position < points.length && points[position] !== lead) position++;
          if (position >= points.length) break;
        }
        currentLength = this.add(this.currentNodes, this.currentStarts, currentLength, 0, position, stamp);
      }
      if (currentLength === 0) break;
      const atEnd = position >= points.length;
      const char = atEnd ? -3 : points[position];
      const nextStamp = ++this.stamp;
      let nextLength = 0;
      for (let k = 0; k < currentLength; k++) {
        const node = this.currentNodes[k];
        if (node === size) {
          // Every thread after this one has a lower priority: drop them.
          matchStart = this.currentStarts[k];
          matchEnd = position;
          break;
        }
        if (atEnd) continue;
        const next = node > size ? (char !== LINE_FEED ? node - size - 1 : -1) : (tokens[node] === ANY ? char !== LINE_FEED : tokens[node] === char) ? node + 1 : -1;
        if (next >= 0) nextLength = this.add(this.nextNodes, this.nextStarts, nextLength, next, this.currentStarts[k], nextStamp);
      }
      if (atEnd) break;
      [this.currentNodes, this.nextNodes] = [this.nextNodes, this.currentNodes];
      [this.currentStarts, this.nextStarts] = [this.nextStarts, this.currentStarts];
      currentLength = nextLength;
      stamp = nextStamp;
      if (currentLength === 0 && (matchStart >= 0 || anchored)) break;
    }
    return matchStart < 0 ? undefined : [matchStart, matchEnd];
  }
}

/**
 * The leftmost-first match of `pattern` in `points` at or after `from`, as Go's
 * `FindStringIndex` reports it, in code point indexes; undefined when there is none.
 */
export function findShellPattern(
  pattern: ShellPattern,
  points: readonly number[],
  options: MatchOptions & { from?: number },
): [number, number] | undefined {
  return new PatternMatcher(pattern, options.greedy).find(points, options.from ?? 0, options.anchored);
}

const SURROGATE = /[\ud800-\udfff]/;

/**
 * The pattern as a plain string when it has no wildcards, so the string methods can do the
 * work. Not with surrogates, where UTF-16 and code point matching could differ.
 */
function literalOf(pattern: ShellPattern): string | undefined {
  if (pattern.tokens.some((token) => token < 0)) return undefined;
  const literal = pattern.tokens.map((token) => String.fromCodePoint(token)).join("");
  return SURROGATE.test(literal) ? undefined : literal;
}

/** `${v#p}` / `${v##p}`: `value` without the shortest (or longest) prefix matching `pattern`. */
export function trimShellPrefix(value: string, pattern: ShellPattern, greedy: boolean): string {
  const literal = literalOf(pattern);
  if (literal !== undefined) return value.startsWith(literal) ? value.slice(literal.length) : value;
  const text = toMatchText(value);
  const match = new PatternMatcher(pattern, greedy).find(text.points, 0, true);
  return match === undefined ? value : value.slice(text.offsets[match[1]]);
}

/**
 * `${v%p}` / `${v%%p}`: `value` without the shortest (or longest) suffix matching the
 * pattern. `reversedPattern` is the pattern after `reverseShellPattern`, compiled: like
 * BuildKit we search the reversed value for a prefix.
 */
export function trimShellSuffix(value: string, reversedPattern: ShellPattern, greedy: boolean): string {
  const reversedLiteral = literalOf(reversedPattern);
  if (reversedLiteral !== undefined) {
    const literal = reversedLiteral.split("").reverse().join("");
    return value.endsWith(literal) ? value.slice(0, value.length - literal.length) : value;
  }
  const text = toMatchText(value);
  const reversed = text.points.slice().reverse();
  const match = new PatternMatcher(reversedPattern, greedy).find(reversed, 0, true);
  return match === undefined ? value : value.slice(0, text.offsets[text.points.length - match[1]]);
}

/** `${v/p/r}`: the first match replaced by `replacement`, taken literally. */
export function replaceFirstShellPattern(value: string, pattern: ShellPattern, replacement: string): string {
  const literal = literalOf(pattern);
  if (literal !== undefined) {
    const at = value.indexOf(literal);
    return at < 0 ? value : value.slice(0, at) + replacement + value.slice(at + literal.length);
  }
  const text = toMatchText(value);
  const match = new PatternMatcher(pattern, true).find(text.points, 0, false);
  if (match === undefined) return value;
  return value.slice(0, text.offsets[match[0]]) + replacement + value.slice(text.offsets[match[1]]);
}

/**
 * `${v//p/r}`: every match replaced, with Go's `Regexp.ReplaceAllString` rules: an empty
 * match right after a match is skipped, and the replacement is a Go template, so `$0` or
 * `${0}` is the matched text, `$$` is `$`, other `$name` forms are empty and a `$` that
 * starts no name stays as it is.
 */
export function replaceAllShellPattern(value: string, pattern: ShellPattern, template: string): string {
  const literal = literalOf(pattern);
  // A non-empty literal never matches empty, so this is a plain split and join.
  if (literal !== undefined && literal !== "") return value.split(literal).join(expandGoTemplate(template, literal));
  const { points, offsets } = toMatchText(value);
  const matcher = new PatternMatcher(pattern, true);
  const parts: string[] = [];
  let lastEnd = 0;
  let searchFrom = 0;
  while (searchFrom <= points.length) {
    const match = matcher.find(points, searchFrom, false);
    if (match === undefined) break;
    const [start, end] = match;
    parts.push(value.slice(offsets[lastEnd], offsets[start]));
    if (end > lastEnd || start === 0) parts.push(expandGoTemplate(template, value.slice(offsets[start], offsets[end])));
    lastEnd = end;
    // Always move on by at least one character.
    searchFrom = Math.max(end, searchFrom + 1);
  }
  parts.push(value.slice(offsets[lastEnd]));
  return parts.join("");
}

const NAME_CHAR = /[\p{L}\p{Nd}_]/u;

/** Go's `Regexp.Expand` for a regex without capture groups: only group 0 exists. */
function expandGoTemplate(template: string, matched: string): string {
  if (!template.includes("$")) return template;
  let out = "";
  let i = 0;
  for (;;) {
    const dollar = template.indexOf("$", i);
    if (dollar < 0) break;
    out += template.slice(i, dollar);
    i = dollar + 1;
    if (template[i] === "$") {
      out += "$";
      i++;
      continue;
    }
    const braced = template[i] === "{";
    let end = braced ? i + 1 : i;
    const nameStart = end;
    while (end < template.length) {
      const point = template.codePointAt(end) as number;
      const char = String.fromCodePoint(point);
      if (!NAME_CHAR.test(char)) break;
      end += char.length;
    }
    const name = template.slice(nameStart, end);
    if (name === "" || (braced && template[end] !== "}")) {
      // Malformed: the `$` stays as text.
      out += "$";
      continue;
    }
    if (braced) end++;
    // Group 0 is the only group; names and other numbers (and `00`, `0a`) expand to nothing.
    if (name === "0") out += matched;
    i = end;
  }
  return out + template.slice(i);
}
