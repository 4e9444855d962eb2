import { zlib } from "../util/lazy-builtin.js";

/**
 * CRC-32 (the gzip trailer's checksum) of blocks computed apart and joined in order. zlib's
 * own crc32 is used where Node has it (20.15 and later); a table-driven one otherwise.
 */

const POLYNOMIAL = 0xedb88320;

type Crc32 = (data: Uint8Array, initial?: number) => number;

let table: Uint32Array | undefined;

function tableCrc32(data: Uint8Array, initial = 0): number {
  if (table === undefined) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLYNOMIAL : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let crc = ~initial >>> 0;
  for (let i = 0; i < data.length; i++) crc = table[(crc ^ data[i]) & 0xff] ^ (crc >>> 8);
  return ~crc >>> 0;
}

let native: Crc32 | null | undefined;

/** The CRC-32 of `data`, continuing from `initial` (the CRC of the bytes before it). */
export function crc32(data: Uint8Array, initial = 0): number {
  native ??= (zlib() as unknown as { crc32?: Crc32 }).crc32 ?? null;
  return (native ?? tableCrc32)(data, initial) >>> 0;
}

/** a(x)·b(x) modulo the CRC polynomial, in the reflected bit order CRC-32 uses. */
function multiplyModP(a: number, b: number): number {
  let m = 0x80000000;
  let product = 0;
  for (;;) {
    if (a & m) {
      product ^= b;
      if ((a & (m - 1)) === 0) break;
    }
    m >>>= 1;
    b = b & 1 ? (b >>> 1) ^ POLYNOMIAL : b >>> 1;
  }
  return product >>> 0;
}

/** x^(2^k) modulo the polynomial, for k = 0..31. */
const X_TO_2_TO_K: number[] = (() => {
  const powers: number[] = [];
  let p = 1 << 30; // x^1
  for (let k = 0; k < 32; k++) {
    powers.push(p);
    p = multiplyModP(p, p);
  }
  return powers;
})();

/** x^(n·2^k) modulo the polynomial. */
function xPowerModP(n: number, k: number): number {
  let p = 0x80000000; // x^0
  while (n > 0) {
    if (n & 1) p = multiplyModP(X_TO_2_TO_K[k & 31], p);
    n = Math.floor(n / 2);
    k++;
  }
  return p;
}

/**
 * The CRC-32 of A followed by B, from the CRC of A, the CRC of B and B's length: what lets
 * blocks be checksummed on different threads (zlib's crc32_combine).
 */
export function crc32Combine(crcA: number, crcB: number, lengthB: number): number {
  return (multiplyModP(xPowerModP(lengthB, 3), crcA) ^ crcB) >>> 0;
}
