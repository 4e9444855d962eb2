/**
 * Go's `unicode.IsSpace`, which BuildKit uses to trim lines and to split ENV, LABEL and ARG
 * words. It differs from JavaScript's `\s`: U+0085 counts, U+FEFF does not.
 */
export function isGoSpace(code: number): boolean {
  if (code <= 0xff) {
    return code === 0x20 || (code >= 0x09 && code <= 0x0d) || code === 0x85 || code === 0xa0;
  }
  return (
    code === 0x1680 ||
    (code >= 0x2000 && code <= 0x200a) ||
    code === 0x2028 ||
    code === 0x2029 ||
    code === 0x202f ||
    code === 0x205f ||
    code === 0x3000
  );
}

/** The separators of BuildKit's `[\t\v\f\r ]+` regex (keyword split, FROM/EXPOSE lists). */
export function isAsciiBlank(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0b || code === 0x0c || code === 0x0d;
}

/** Index of the first character of `text` at or after `from` that is not Go whitespace. */
export function skipGoSpace(text: string, from = 0): number {
  let i = from;
  while (i < text.length && isGoSpace(text.charCodeAt(i))) i++;
  return i;
}

/** Index just past the last character of `text` before `to` that is not Go whitespace. */
export function skipGoSpaceBack(text: string, to = text.length): number {
  let i = to;
  while (i > 0 && isGoSpace(text.charCodeAt(i - 1))) i--;
  return i;
}

/** Go's `strings.TrimSpace`. */
export function trimGoSpace(text: string): string {
  const start = skipGoSpace(text);
  return text.slice(start, Math.max(start, skipGoSpaceBack(text)));
}
