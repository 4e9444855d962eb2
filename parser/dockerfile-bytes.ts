/**
 * Dockerfile bytes ↔ text without losing bytes that are not valid UTF-8.
 *
 * BuildKit keeps a Dockerfile as Go strings, which are bytes: a byte that is not valid
 * UTF-8 stays itself through parsing (the AST dump shows it as `\xNN`), in RUN text and in
 * heredoc bodies. A JavaScript string holds UTF-16 code units, so such a byte is kept as a
 * lone low surrogate U+DC80–U+DCFF (the "surrogateescape" mapping): valid UTF-8 never
 * decodes to a lone surrogate, so the mapping is exact both ways. Where BuildKit's Go code
 * turns bad bytes into U+FFFD (its shell lexer, `encoding/json`), ours does the same with
 * these escapes.
 */

const FATAL_DECODER = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** The first code unit of the escapes; byte `b` (0x80–0xFF) is `ESCAPE_BASE + b`. */
const ESCAPE_BASE = 0xdc00;

/** The text of a Dockerfile's bytes, each invalid UTF-8 byte kept as an escape (see above). */
export function decodeDockerfileBytes(bytes: Uint8Array): string {
  try {
    return FATAL_DECODER.decode(bytes);
  } catch {
    // Not valid UTF-8: decode rune by rune as Go's utf8.DecodeRune does (below).
  }
  const units: number[] = [];
  let out = "";
  for (let i = 0; i < bytes.length; ) {
    const width = validSequenceWidth(bytes, i);
    if (width === 0) {
      units.push(ESCAPE_BASE + bytes[i]);
      i += 1;
    } else {
      const text = new TextDecoder().decode(bytes.subarray(i, i + width));
      for (let k = 0; k < text.length; k++) units.push(text.charCodeAt(k));
      i += width;
    }
    if (units.length >= 8192) {
      out += String.fromCharCode(...units);
      units.length = 0;
    }
  }
  return out + String.fromCharCode(...units);
}

/** The bytes of Dockerfile text: UTF-8, with escaped bytes written back as themselves. */
export function encodeDockerfileText(text: string): Buffer {
  if (!/[\udc80-\udcff]/.test(text)) return Buffer.from(text, "utf8");
  const parts: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    const prev = i > 0 ? text.charCodeAt(i - 1) : 0;
    if (code >= 0xdc80 && code <= 0xdcff && !(prev >= 0xd800 && prev <= 0xdbff)) {
      parts.push(Buffer.from(text.slice(start, i), "utf8"), Buffer.from([code - ESCAPE_BASE]));
      start = i + 1;
    }
  }
  parts.push(Buffer.from(text.slice(start), "utf8"));
  return Buffer.concat(parts);
}

/** The escaped byte a code unit stands for, or undefined when it is not an escape. */
export function escapedByte(code: number): number | undefined {
  return code >= 0xdc80 && code <= 0xdcff ? code - ESCAPE_BASE : undefined;
}

/** Width of the valid UTF-8 sequence at `i` (Go's rules: no overlongs, surrogates or values past U+10FFFF), 0 if none. */
function validSequenceWidth(bytes: Uint8Array, i: number): number {
  const b0 = bytes[i];
  if (b0 < 0x80) return 1;
  const cont = (k: number, lo = 0x80, hi = 0xbf): boolean => i + k < bytes.length && bytes[i + k] >= lo && bytes[i + k] <= hi;
  if (b0 >= 0xc2 && b0 <= 0xdf) return cont(1) ? 2 : 0;
  if (b0 >= 0xe0 && b0 <= 0xef) {
    const lo = b0 === 0xe0 ? 0xa0 : 0x80;
    const hi = b0 === 0xed ? 0x9f : 0xbf;
    return cont(1, lo, hi) && cont(2) ? 3 : 0;
  }
  if (b0 >= 0xf0 && b0 <= 0xf4) {
    const lo = b0 === 0xf0 ? 0x90 : 0x80;
    const hi = b0 === 0xf4 ? 0x8f : 0xbf;
    return cont(1, lo, hi) && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}
