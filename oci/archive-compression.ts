import type { Duplex, Readable } from "node:stream";
import { createDecompressor, detectCompression, openSniffed, programStream } from "./layer-compression.js";

/**
 * Compressions an archive given to ADD may have: the four that docker's and BuildKit's
 * `DecompressStream` recognise (gzip, bzip2, xz, zstd), or none.
 */
export type ArchiveCompression = "gzip" | "bzip2" | "xz" | "zstd" | "none";

const XZ_MAGIC = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00];

/** The compression of an archive from its first bytes (up to 6), by the same magic numbers as docker. */
export function detectArchiveCompression(head: Uint8Array): ArchiveCompression {
  if (head.length >= 3 && head[0] === 0x42 && head[1] === 0x5a && head[2] === 0x68) return "bzip2"; // "BZh"
  if (head.length >= 6 && XZ_MAGIC.every((byte, i) => head[i] === byte)) return "xz";
  return detectCompression(head);
}

/**
 * A decompressor for `compression`. Node has gzip only, and zstd comes from the zstd program
 * already; bzip2 and xz come from their programs too (Debian's bzip2 and xz-utils), which are
 * faster than the pure-JavaScript decoders on npm and stream with bounded memory.
 */
export function createArchiveDecompressor(compression: ArchiveCompression): Duplex {
  if (compression === "bzip2" || compression === "xz") return programStream(compression, ["-d", "-c", "-q"]);
  return createDecompressor(compression);
}

/** The uncompressed bytes of an archive, whatever of the four compressions it has. */
export async function openArchiveDecompressed(source: Readable): Promise<{ stream: Readable; compression: ArchiveCompression }> {
  return openSniffed(source, { detect: detectArchiveCompression, decompressor: createArchiveDecompressor });
}
