import { createReadStream } from "node:fs";
import { openArchiveDecompressed } from "./archive-compression.js";
import { BLOCK_SIZE, decodeTarBlock, isZeroBlock } from "./layer-tar-header.js";

/**
 * True when the file at `path` is a tar archive, plain or compressed with gzip, bzip2, xz or
 * zstd: what ADD unpacks. As in BuildKit (`isArchivePath`: `DecompressStream`, then one
 * `tar.Reader.Next`), it is enough that the first header decodes; anything else, a file too
 * short, a bad checksum, compressed data that is not a tar, is copied as an opaque file.
 */
export async function isTarArchive(path: string): Promise<boolean> {
  const source = createReadStream(path);
  try {
    const { stream } = await openArchiveDecompressed(source);
    try {
      let head = Buffer.alloc(0);
      for await (const chunk of stream) {
        head = Buffer.concat([head, chunk as Buffer]);
        if (head.length >= BLOCK_SIZE) break;
      }
      if (head.length < BLOCK_SIZE) return false;
      const block = head.subarray(0, BLOCK_SIZE);
      if (isZeroBlock(block)) return false;
      decodeTarBlock(block, "at offset 0");
      return true;
    } finally {
      stream.destroy();
    }
  } catch {
    // Unreadable or undecodable: not an archive, as for BuildKit, which then copies the file
    // (and reports a real read error there).
    return false;
  } finally {
    source.destroy();
  }
}
