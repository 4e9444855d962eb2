import { close, open, read } from "node:fs";
import { promisify } from "node:util";
import { TsbuildError } from "../errors.js";
import { readStartSync, SMALL_FILE_SYNC } from "../util/read-small-file.js";
import type { CopyRange } from "./hash-thread.js";
import { soleBuffer } from "./thread-digester.js";

/** What a tar is made of on its way out: bytes, or a range of an earlier tar that the writer copies itself. */
export type TarPiece = Buffer | CopyRange;

function isCopy(part: Buffer | PendingRead | CopyRange): part is CopyRange {
  return "source" in part && !Buffer.isBuffer(part);
}

/**
 * The bytes of a tar being written, in archive order, with the file reads among them started
 * ahead: while earlier bytes are hashed and written and later entries are found, up to
 * READ_AHEAD_BYTES in READ_AHEAD_READS reads are under way in libuv's thread pool. Small
 * pieces are copied into blocks of about OUTPUT_BLOCK bytes (small files are read straight
 * into them), so the streams, the hash and the write see a few hundred chunks for a 200 MB
 * layer, not one per header or file. Ranges to copy (`pushCopy`) go on as they are, in their
 * place among the bytes.
 */
export class TarReadAhead {
  readonly #parts: Array<Buffer | PendingRead | CopyRange> = [];
  /** Index in #parts of the first read not yet started. */
  #nextToStart = 0;
  #readsStarted = 0;
  #bytesStarted = 0;
  /** Bytes in #parts, read or not: small files read in place wait here behind a read under way. */
  #queuedBytes = 0;
  /** The block being filled, and how much of it is. */
  #block = Buffer.allocUnsafe(0);
  #used = 0;
  /** Blocks filled (and ranges) not yet handed on. */
  #out: TarPiece[] = [];

  push(bytes: Buffer): void {
    if (bytes.length === 0) return;
    if (this.#parts.length === 0) this.#append(bytes);
    else this.#queue(bytes, bytes.length);
  }

  /** `size` bytes that `start` reads when their turn comes; it must give exactly that many. */
  pushRead(size: number, start: () => Promise<Buffer>): void {
    if (size > 0) this.#queue({ size, start }, size);
  }

  /** A range the writer copies itself, after the bytes before it. */
  pushCopy(range: CopyRange): void {
    if (range.length === 0) return;
    if (this.#parts.length > 0) this.#queue(range, 0); // no memory held
    else {
      this.#flush();
      this.#out.push(range);
    }
  }

  /** A small file (at most SMALL_FILE bytes), read now: into the block when nothing waits before it. */
  pushSmallFile(path: string, size: number, changed: () => Error): void {
    if (size === 0) return;
    if (this.#parts.length > 0) {
      this.#queue(readSmallFile(path, size, changed, Buffer.allocUnsafe(size + 1), 0), size);
      return;
    }
    if (this.#used + size + 1 > this.#block.length) this.#newBlock();
    readSmallFile(path, size, changed, this.#block, this.#used);
    this.#used += size;
    if (this.#used >= OUTPUT_BLOCK) this.#flush();
  }

  /**
   * The blocks that can go on now: the bytes up to the first read still under way. Nothing
   * waits here, so it costs little to ask after every entry.
   */
  ready(): TarPiece[] {
    this.#startReads();
    for (let head = this.#parts[0]; head !== undefined && (Buffer.isBuffer(head) || isCopy(head) || head.bytes !== undefined); head = this.#parts[0]) {
      this.#take(head);
    }
    const out = this.#out;
    this.#out = [];
    return out;
  }

  /**
   * True while the read-ahead is full: the caller waits (`next`) rather than queueing more.
   * Bytes already read count too, or a tree of small files read in place behind one slow read
   * would pile up in memory (the walk and those reads never let the event loop finish it).
   */
  full(): boolean {
    return this.#queuedBytes >= READ_AHEAD_BYTES || this.#readsStarted >= READ_AHEAD_READS;
  }

  /** Waits for the first part, then gives what can go on; with nothing left, the last block too. */
  async next(): Promise<TarPiece[]> {
    this.#startReads();
    const head = this.#parts[0];
    if (head !== undefined && !Buffer.isBuffer(head) && !isCopy(head)) await head.read;
    const out = this.ready();
    if (this.#parts.length === 0 && this.#used > 0) {
      this.#flush();
      out.push(...this.ready());
    }
    return out;
  }

  /** True when everything queued has been given. */
  get empty(): boolean {
    return this.#parts.length === 0 && this.#used === 0 && this.#out.length === 0;
  }

  /** Waits for the reads under way (after a failure, before their files are closed). */
  async settle(): Promise<void> {
    await Promise.allSettled(this.#parts.flatMap((part) => (Buffer.isBuffer(part) || isCopy(part) || part.read === undefined ? [] : [part.read])));
  }

  #startReads(): void {
    while (this.#nextToStart < this.#parts.length && (this.#readsStarted === 0 || (this.#bytesStarted < READ_AHEAD_BYTES && this.#readsStarted < READ_AHEAD_READS))) {
      const part = this.#parts[this.#nextToStart++];
      if (Buffer.isBuffer(part) || isCopy(part)) continue;
      const read = part.start();
      this.#readsStarted++;
      this.#bytesStarted += part.size;
      // Taken in order later; a failure is thrown where it is awaited (next), and must not
      // count as unhandled before that.
      part.read = read.then((bytes) => {
        part.bytes = bytes;
      });
      part.read.catch(() => undefined);
    }
  }

  #queue(part: Buffer | PendingRead | CopyRange, size: number): void {
    this.#parts.push(part);
    this.#queuedBytes += size;
  }

  #take(head: Buffer | PendingRead | CopyRange): void {
    this.#parts.shift();
    this.#nextToStart--;
    if (isCopy(head)) {
      this.#flush();
      this.#out.push(head);
    } else if (Buffer.isBuffer(head)) {
      this.#queuedBytes -= head.length;
      this.#append(head);
    } else {
      this.#queuedBytes -= head.size;
      this.#readsStarted--;
      this.#bytesStarted -= head.size;
      this.#append(head.bytes!);
    }
  }

  /** Bytes after those in the block: large ones go on as they are, small ones are copied in. */
  #append(bytes: Buffer): void {
    if (bytes.length >= OUTPUT_BLOCK) {
      if (this.#used > 0) this.#flush();
      this.#out.push(bytes);
      return;
    }
    if (this.#used + bytes.length > this.#block.length) this.#newBlock();
    bytes.copy(this.#block, this.#used);
    this.#used += bytes.length;
    if (this.#used >= OUTPUT_BLOCK) this.#flush();
  }

  /** Hands on the filled part of the block; the rest of it is left unused. */
  #flush(): void {
    if (this.#used > 0) this.#out.push(this.#block.subarray(0, this.#used));
    this.#block = Buffer.allocUnsafe(0);
    this.#used = 0;
  }

  /** A fresh block, after handing on the current one. */
  #newBlock(): void {
    this.#flush();
    // Room for a block's worth plus the largest piece copied or read in after it. Handed on
    // whole (as its first bytes) and never touched again: a hashing thread may take it.
    this.#block = soleBuffer(OUTPUT_BLOCK + SMALL_FILE + 1);
  }
}

interface PendingRead {
  size: number;
  start: () => Promise<Buffer>;
  /** Settles when the read is done, setting `bytes`; rejects with its error. */
  read?: Promise<void>;
  bytes?: Buffer;
}

/** Reads under way at most: bytes, and reads (each a file or a piece of one). */
const READ_AHEAD_BYTES = 8 * 1024 * 1024;
const READ_AHEAD_READS = 64;
/** The tar is handed on in blocks of about this size. */
const OUTPUT_BLOCK = 512 * 1024;
/** Large files and ranges of an earlier layer are read in pieces of this size. */
export const READ_PIECE = 1024 * 1024;

const openFile = promisify(open);
const closeFile = promisify(close);
const readInto = (fd: number, buffer: Buffer, offset: number, length: number, position: number): Promise<number> =>
  new Promise((resolve, reject) => read(fd, buffer, offset, length, position, (error, bytesRead) => (error ? reject(error) : resolve(bytesRead))));

/**
 * `length` bytes of an open file from `position`; fewer is an error made by `changed`. With
 * `atEnd` the file must also end there: one byte more is asked for, and getting it is the
 * same error. A regular file's read returns less than asked only at its end, so a file of
 * the expected size takes one read.
 */
export async function readAt(fd: number, range: { position: number; length: number; atEnd: boolean }, changed: () => Error): Promise<Buffer> {
  const { position, length, atEnd } = range;
  // Its own memory (a piece is at least a block), handed on whole: a hashing thread may take it.
  const buffer = soleBuffer(atEnd ? length + 1 : length);
  let filled = 0;
  while (filled < length) {
    const count = await readInto(fd, buffer, filled, buffer.length - filled, position + filled);
    if (count === 0) break;
    filled += count;
  }
  if (filled !== length) throw changed();
  return buffer.subarray(0, length);
}

/**
 * A piece of a file: open, read, close. readFile would add an fstat and a FileHandle per
 * file, which shows with thousands of small files.
 */
export async function readFilePiece(path: string, range: { position: number; length: number; atEnd: boolean }, changed: () => Error): Promise<Buffer> {
  const fd = await openFile(path, "r");
  try {
    return await readAt(fd, range, changed);
  } finally {
    await closeFile(fd);
  }
}

/** Files up to this size are read synchronously, in place (util/read-small-file.ts). */
export const SMALL_FILE = SMALL_FILE_SYNC;

/** A small file's `size` bytes, read into `buffer` at `offset` (with room for one more, to see growth); the same size checks as readAt. */
export function readSmallFile(path: string, size: number, changed: () => Error, buffer: Buffer, offset: number): Buffer {
  if (readStartSync(path, buffer, offset, size + 1) !== size) throw changed();
  return buffer.subarray(offset, offset + size);
}

/** A file opened on first use and read by many pieces: the earlier layer whose entries are reused. */
export class SharedFile {
  readonly #path: string;
  #fd: Promise<number> | undefined;

  constructor(path: string) {
    this.#path = path;
  }

  async read(position: number, length: number): Promise<Buffer> {
    this.#fd ??= openFile(this.#path, "r");
    return readAt(await this.#fd, { position, length, atEnd: false }, () => {
      return new TsbuildError("CONFLICT", `Cannot reuse entries of "${this.#path}": it is shorter than its index says`);
    });
  }

  /** Closes the file; no read may be under way. */
  async close(): Promise<void> {
    if (this.#fd === undefined) return;
    const fd = await this.#fd.catch(() => undefined); // the open failed: that error went to the read
    this.#fd = undefined;
    if (fd !== undefined) await closeFile(fd);
  }
}
