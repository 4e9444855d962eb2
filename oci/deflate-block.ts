import { crc32 } from "./crc32.js";
import { zlib } from "../util/lazy-builtin.js";

/** One block of a block-parallel gzip stream (see parallel-gzip.ts). */
export interface DeflateBlockInput {
  block: Uint8Array;
  /** The 32 KiB before the block, so matches may reach back into it as in one stream. */
  dictionary?: Uint8Array;
  /** The last block ends the deflate stream; the others end on a byte boundary (sync flush). */
  last: boolean;
  level: number;
}

/**
 * Raw deflate of one block and its CRC-32, as pigz does per block. The output depends on
 * the block, its dictionary, `last` and the level only, never on which thread ran it.
 */
export function deflateBlock(input: DeflateBlockInput): { output: Buffer; crc: number } {
  const output = zlib().deflateRawSync(input.block, {
    level: input.level,
    ...(input.dictionary === undefined ? {} : { dictionary: input.dictionary }),
    finishFlush: input.last ? zlib().constants.Z_FINISH : zlib().constants.Z_SYNC_FLUSH,
    chunkSize: 256 * 1024,
  });
  return { output, crc: crc32(input.block) };
}
