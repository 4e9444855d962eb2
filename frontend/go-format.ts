/**
 * Go's formatting of values, for the history lines BuildKit writes with `fmt.Sprintf`
 * (`CMD %q`, `VOLUME %v`): consumers compare these strings, so they must match byte for byte.
 */

const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;
const SHORT_ESCAPES: Record<string, string> = {
  "\x07": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v", '"': '\\"', "\\": "\\\\",
};

/** Go's `strconv.Quote`. */
export function goQuote(text: string): string {
  let out = '"';
  for (const char of text) {
    const code = char.codePointAt(0) ?? 0;
    if (SHORT_ESCAPES[char] !== undefined) out += SHORT_ESCAPES[char];
    else if (PRINTABLE.test(char)) out += char;
    else if (code < 0x80) out += `\\x${code.toString(16).padStart(2, "0")}`;
    else if (code <= 0xffff) out += `\\u${code.toString(16).padStart(4, "0")}`;
    else out += `\\U${code.toString(16).padStart(8, "0")}`;
  }
  return `${out}"`;
}

/** `%q` of a `[]string`: `["/bin/sh" "-c" "echo hi"]`. */
export function goQuoteList(list: readonly string[]): string {
  return `[${list.map(goQuote).join(" ")}]`;
}

/** `%v` of a `[]string`: `[/data /logs]`. */
export function goList(list: readonly string[]): string {
  return `[${list.join(" ")}]`;
}
