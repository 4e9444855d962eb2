import { escapedByte } from "./dockerfile-bytes.js";

/**
 * Go's `strconv.Quote`, which BuildKit's AST dump uses for every flag and argument.
 * It differs from `JSON.stringify` for `\a`, `\v`, `\x7f`, non-printable Unicode and more.
 *
 * A byte that is not valid UTF-8 reaches us as its escape U+DC80–U+DCFF (see
 * dockerfile-bytes.ts) and is written as Go writes the byte, `\xNN`. Any other lone
 * surrogate (only possible when the caller built the string itself) is written as
 * `\udNNN`, the way Go writes any other non-printable code point below U+10000.
 */

// Go's IsPrint: letters, marks, numbers, punctuation and symbols, plus the ASCII space.
const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;
const ALL_SIMPLE = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

const NAMED_ESCAPES: Record<number, string> = {
  0x07: "\\a",
  0x08: "\\b",
  0x0c: "\\f",
  0x0a: "\\n",
  0x0d: "\\r",
  0x09: "\\t",
  0x0b: "\\v",
  0x22: '\\"',
  0x5c: "\\\\",
};

function hex(code: number, width: number): string {
  return code.toString(16).padStart(width, "0");
}

/** Quotes `value` exactly as Go's `strconv.Quote` quotes its UTF-8 encoding. */
export function goQuote(value: string): string {
  if (ALL_SIMPLE.test(value)) return `"${value}"`;
  const parts: string[] = ['"'];
  for (let i = 0; i < value.length; i++) {
    let code = value.charCodeAt(i);
    let char = value[i];
    if (code >= 0xd800 && code <= 0xdbff && i + 1 < value.length) {
      const low = value.charCodeAt(i + 1);
      if (low >= 0xdc00 && low <= 0xdfff) {
        code = (code - 0xd800) * 0x400 + (low - 0xdc00) + 0x10000;
        char = value.slice(i, i + 2);
        i++;
      }
    }
    const named = NAMED_ESCAPES[code];
    const byte = char.length === 1 ? escapedByte(code) : undefined;
    if (byte !== undefined) parts.push(`\\x${hex(byte, 2)}`);
    else if (named !== undefined) parts.push(named);
    else if (code === 0x20 || (code > 0x7e ? PRINTABLE.test(char) : code > 0x20)) parts.push(char);
    else if (code < 0x20 || code === 0x7f) parts.push(`\\x${hex(code, 2)}`);
    else if (code < 0x10000) parts.push(`\\u${hex(code, 4)}`);
    else parts.push(`\\U${hex(code, 8)}`);
  }
  parts.push('"');
  return parts.join("");
}
