import { Transform, type TransformCallback } from "node:stream";
import { crc32Combine } from "./crc32.js";
import { deflateBlock } from "./deflate-block.js";
import { deflatePool, type DeflatePool } from "./deflate-pool.js";

/**
 * Block size of the parallel gzip: the input is cut at these fixed offsets, whatever the
 * chunks it arrives in, so the output does not depend on the machine. A layer of one block
 * or less comes out byte for byte as one-stream gzip at the same level.
 */
export const GZIP_BLOCK_SIZE = 1024 * 1024;
/** Deflate's window: each block may refer back this far into the one before. */
const DICTIONARY_SIZE = 32 * 1024;
/** A whole stream this small is deflated on the calling thread (about a millisecond). */
const INLINE_LIMIT = 64 * 1024;
/** gzip header: deflate, no flags, mtime 0, no extra flags, OS unix (what zlib writes at level 6). */
const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03]);

export interface ParallelGzipOptions {
  /** Default 6 (gzip's default). */
  level?: number;
  /** Default: the process's pool, one thread per core. */
  pool?: DeflatePool;
}

type BlockResult = { output: Buffer; crc: number; length: number };

/**
 * gzip on every core, like pigz: the input is cut into fixed blocks, each deflated on a pool
 * thread with the 32 KiB before it as dictionary and ended with a sync flush (the last one
 * with a final block), and the pieces are joined in order with one header and a trailer
 * whose CRC is combined from the blocks'. Same input, same bytes, on any number of cores.
 * At most two blocks per thread are in flight, so memory stays flat.
 */
export function createParallelGzip(options: ParallelGzipOptions = {}): Transform {
  return new ParallelGzip(options.level ?? 6, options.pool ?? deflatePool());
}

class ParallelGzip extends Transform {
  readonly #level: number;
  readonly #pool: DeflatePool;
  readonly #maxInFlight: number;
  /** The block being filled. */
  #block = new Uint8Array(GZIP_BLOCK_SIZE);
  #filled = 0;
  /** The last full block, held back until it is known whether more input follows. */
  #held: Uint8Array | undefined;
  /** The tail of the last block sent, the next block's dictionary. */
  #dictionary: Uint8Array | undefined;
  readonly #inFlight: Array<Promise<BlockResult>> = [];
  #crc = 0;
  #length = 0;
  #headerSent = false;

  constructor(level: number, pool: DeflatePool) {
    super();
    this.#level = level;
    this.#pool = pool;
    this.#maxInFlight = 2 * pool.size;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    let offset = 0;
    while (offset < chunk.length) {
      const take = Math.min(chunk.length - offset, GZIP_BLOCK_SIZE - this.#filled);
      this.#block.set(chunk.subarray(offset, offset + take), this.#filled);
      this.#filled += take;
      offset += take;
      if (this.#filled === GZIP_BLOCK_SIZE) {
        if (this.#held !== undefined) this.#send(this.#held, false);
        this.#held = this.#block;
        this.#block = new Uint8Array(GZIP_BLOCK_SIZE);
        this.#filled = 0;
      }
    }
    this.#drain(this.#maxInFlight).then(() => callback(), callback);
  }

  override _flush(callback: TransformCallback): void {
    const rest = this.#block.subarray(0, this.#filled);
    if (this.#held === undefined) this.#send(rest.slice(), true);
    else if (rest.length === 0) this.#send(this.#held, true);
    else {
      this.#send(this.#held, false);
      this.#send(rest.slice(), true);
    }
    this.#held = undefined;
    this.#drain(0).then(() => {
      this.#pushHeader();
      const trailer = Buffer.alloc(8);
      trailer.writeUInt32LE(this.#crc, 0);
      trailer.writeUInt32LE(this.#length % 2 ** 32, 4);
      callback(null, trailer);
    }, callback);
  }

  #send(block: Uint8Array, last: boolean): void {
    const dictionary = this.#dictionary;
    this.#dictionary = block.length >= DICTIONARY_SIZE ? block.slice(block.length - DICTIONARY_SIZE) : undefined;
    const length = block.length;
    const input = { block, last, level: this.#level, ...(dictionary === undefined ? {} : { dictionary }) };
    // A small stream of one block is deflated here: a thread would cost more than it saves.
    const work = last && dictionary === undefined && length <= INLINE_LIMIT ? Promise.resolve().then(() => deflateBlock(input)) : this.#pool.run(input);
    const result = work.then(({ output, crc }) => ({ output, crc, length }));
    result.catch(() => undefined); // awaited in order by #drain
    this.#inFlight.push(result);
  }

  /** Writes out finished blocks in order until at most `limit` are in flight. */
  async #drain(limit: number): Promise<void> {
    while (this.#inFlight.length > limit) {
      const { output, crc, length } = await this.#inFlight.shift()!;
      this.#pushHeader();
      this.#crc = this.#length === 0 ? crc : crc32Combine(this.#crc, crc, length);
      this.#length += length;
      this.push(output);
    }
  }

  #pushHeader(): void {
    if (this.#headerSent) return;
    this.#headerSent = true;
    this.push(GZIP_HEADER);
  }
}
