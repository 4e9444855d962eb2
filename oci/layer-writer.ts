import * as crypto from "node:crypto";
import { createHash } from "node:crypto";
import { createWriteStream, writev } from "node:fs";
import { open, unlink } from "node:fs/promises";
import { Readable, Transform, Writable } from "node:stream";
import { finished, pipeline } from "node:stream/promises";
import { TsbuildError } from "../errors.js";
import { Digester, type Digest } from "./digest.js";
import { createCompressor, LAYER_MEDIA_TYPES, type LayerCompression } from "./layer-compression.js";
import { encodeTarHeader, endOfArchive, paddingFor, type EncodableTarHeader, type TarEntryType } from "./layer-tar-header.js";
import { cancelledError } from "../util/cancelled-error.js";
import { READ_PIECE, readFilePiece, SharedFile, SMALL_FILE, TarReadAhead, type TarPiece } from "./tar-read-ahead.js";
import { crashPoint } from "../util/crash-point.js";
import { threadDigester, type ThreadDigester } from "./thread-digester.js";

/** One entry to write, in archive order (parents before children). */
export interface LayerWriteEntry {
  /** Relative path without leading `./` or trailing `/`. */
  path: string;
  type: Exclude<TarEntryType, "hardlink">;
  mode: number;
  uid: number;
  gid: number;
  /** Modification time in seconds (fractions are dropped). */
  mtime: number;
  /** Regular files: byte count, read from `sourcePath`. */
  size?: number;
  sourcePath?: string;
  linkpath?: string;
  devmajor?: number;
  devminor?: number;
  xattrs?: Map<string, Buffer>;
  /**
   * Identity of the inode (`"<dev>:<ino>"`) for entries with more than one link: every
   * entry after the first with the same identity is written as a hard link to the first.
   */
  inode?: string;
  /** Regular files: identity of the inode (`"<dev>:<ino>"`), for taking its entry from an earlier layer (`reuse`). */
  fileId?: string;
}

/**
 * Where a regular file's entry (header, data, padding) sits in a layer tar, and what it was
 * made from: the inode and a hash of the header bytes.
 */
export interface LayerEntryIndex {
  path: string;
  fileId: string;
  offset: number;
  length: number;
  header: string;
}

/**
 * An earlier layer whose entries may be copied instead of reading the files again: an
 * entry is taken from `source` (its uncompressed tar) when the file is the same inode at the
 * same path and its header now encodes to the same bytes. The inode must not have changed
 * since (a committed snapshot's, shared by hard link: solver/incremental-copy.ts).
 */
export interface LayerReuse {
  source: string;
  entries: ReadonlyMap<string, LayerEntryIndex>;
}

/**
 * A new, empty file an uncompressed layer goes into: written here while the tar is small,
 * else by the hashing thread, which may open `path` again for direct I/O and copies ranges
 * of a `reuse` source without passing them through this thread. The owner keeps `fd` open
 * until `writeLayer` has settled.
 */
export interface LayerFile {
  readonly path: string;
  readonly fd: number;
}

export interface WriteLayerOptions {
  /** Default gzip. */
  compression?: LayerCompression;
  /**
   * Clamp every mtime to this many seconds since the epoch, for reproducible layers.
   * Default: `SOURCE_DATE_EPOCH` from the environment when set; `null` disables it.
   */
  sourceDateEpoch?: number | null;
  /** Stops writing: the streams are destroyed and a CANCELLED error is thrown. */
  signal?: AbortSignal;
  /** Entries to take from an earlier layer instead of the files. */
  reuse?: LayerReuse;
  /** Collect the index of the regular files' entries (`LayerWriteResult.index`), for a later `reuse`. */
  index?: boolean;
  /** Bytes of the tar made so far, after each block (for progress). */
  onProgress?: (tarBytes: number) => void;
}

export interface LayerWriteResult {
  /** sha256 of the uncompressed tar (the config's rootfs diff_id). */
  diffId: Digest;
  /** sha256 of the blob as written. */
  digest: Digest;
  /** Size of the blob as written. */
  size: number;
  uncompressedSize: number;
  compression: LayerCompression;
  mediaType: string;
  /** With `index`: where each regular file's entry is in the tar. */
  index?: LayerEntryIndex[];
  /** Bytes of the tar taken from `reuse`'s source instead of the files. */
  reusedBytes?: number;
}

/** The `SOURCE_DATE_EPOCH` of the environment, or undefined when unset. */
export function sourceDateEpochFromEnv(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const text = env.SOURCE_DATE_EPOCH;
  if (text === undefined || text === "") return undefined;
  if (!/^\d+$/.test(text)) {
    throw new TsbuildError("USAGE", `Cannot use SOURCE_DATE_EPOCH "${text}": value is not a whole number of seconds`);
  }
  return Number(text);
}

/**
 * Writes `entries` as a layer tar, compressed, to a file path, an open file or a writable
 * stream, streaming file contents so the layer is never held in memory. Headers carry no
 * atime, ctime, user or group names; with a source date epoch every mtime is clamped to it,
 * so one tree gives one digest on any machine.
 */
export async function writeLayer(
  entries: AsyncIterable<LayerWriteEntry> | Iterable<LayerWriteEntry>,
  destination: string | Writable | LayerFile,
  options: WriteLayerOptions = {},
): Promise<LayerWriteResult> {
  const compression = options.compression ?? "gzip";
  const epoch = options.sourceDateEpoch === null ? undefined : (options.sourceDateEpoch ?? sourceDateEpochFromEnv());
  // An uncompressed layer into a file is its tar, written at known positions: ranges of an
  // earlier layer can be copied into it by the hashing thread.
  const toFile = compression === "none" && (typeof destination === "string" || isLayerFile(destination));
  const tar: TarOptions = {
    epoch,
    ...(options.reuse === undefined ? {} : { reuse: options.reuse }),
    ...(options.index ? { index: [] } : {}),
    reusedBytes: 0,
    copies: toFile,
  };
  const source = Readable.from(tarStream(entries, tar));
  const result = (tarDigest: { diffId: Digest; size: number }, blob?: Digester): LayerWriteResult => ({
    diffId: tarDigest.diffId,
    digest: blob === undefined ? tarDigest.diffId : blob.digest(),
    size: blob === undefined ? tarDigest.size : blob.size,
    uncompressedSize: tarDigest.size,
    compression,
    mediaType: LAYER_MEDIA_TYPES[compression],
    ...(tar.index === undefined ? {} : { index: tar.index }),
    ...(tar.reuse === undefined ? {} : { reusedBytes: tar.reusedBytes }),
  });
  const failed = (error: unknown) => (options.signal?.aborted ? cancelledError("Writing the layer was cancelled", options.signal, error) : error);
  const pipe = (stages: Array<Transform | Writable>) => pipeline([source, ...stages], options.signal === undefined ? {} : { signal: options.signal });

  if (toFile) {
    const opened = typeof destination === "string" ? await openLayerFile(destination) : undefined;
    const writer = new FileWriteThenHash(opened ?? (destination as LayerFile), options.onProgress);
    try {
      await pipe([writer]);
      const tarDigest = await writer.digest();
      await opened?.close();
      return result(tarDigest);
    } catch (error) {
      // Nothing may write into the descriptor once its owner closes it (it could be another file's by then).
      await writer.settle();
      if (opened !== undefined) {
        await opened.close().catch(() => undefined); // the write error is the one to report
        await unlink(destination as string).catch(() => undefined); // a half-written layer
      }
      throw failed(error);
    }
  }

  const sink = typeof destination === "string" ? createWriteStream(destination, { flags: "w", mode: 0o644 }) : (destination as Writable);
  const uncompressed = compression === "none" ? new StreamWriteThenHash(sink, options.onProgress) : undefined;
  const compressing = uncompressed === undefined ? compressingStages(compression, sink, options.onProgress) : undefined;
  try {
    await pipe(compressing?.stages ?? [uncompressed as StreamWriteThenHash]);
  } catch (error) {
    if (typeof destination === "string") {
      // A file stream still opening when the pipeline failed creates the file after that: wait for it.
      if (!sink.closed) await new Promise<void>((closed) => sink.once("close", () => closed()));
      await unlink(destination).catch(() => undefined); // a half-written layer; the write error is the one to report
    }
    throw failed(error);
  }
  if (compressing === undefined) return result((uncompressed as StreamWriteThenHash).digest());
  return result({ diffId: compressing.tar.digest(), size: compressing.tar.size }, compressing.blob);
}

function isLayerFile(destination: Writable | LayerFile): destination is LayerFile {
  return !(destination instanceof Writable) && typeof (destination as LayerFile).fd === "number";
}

/** A new file at `path` as a LayerFile, with its close. */
async function openLayerFile(path: string): Promise<LayerFile & { close(): Promise<void> }> {
  const handle = await open(path, "w", 0o644);
  return { path, fd: handle.fd, close: () => handle.close() };
}

/** A compressed layer's stages: the tar hashed (and counted), compressed, the blob hashed, written. */
function compressingStages(compression: LayerCompression, sink: Writable, onProgress: ((tarBytes: number) => void) | undefined) {
  const tar = new Digester();
  const blob = new Digester();
  const stages: Array<Transform | Writable> = [
    new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        tar.update(chunk);
        onProgress?.(tar.size);
        callback(null, chunk);
      },
    }),
    createCompressor(compression) as Transform,
    new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        blob.update(chunk);
        callback(null, chunk);
      },
    }),
    sink,
  ];
  return { stages, tar, blob };
}

/**
 * The last stage of an uncompressed layer going into a stream that may keep what it is
 * given: each chunk is written to `sink`, then hashed here.
 */
class StreamWriteThenHash extends Writable {
  readonly #sink: Writable;
  readonly #onProgress: ((tarBytes: number) => void) | undefined;
  readonly #digester = new Digester();

  constructor(sink: Writable, onProgress: ((tarBytes: number) => void) | undefined) {
    super();
    this.#sink = sink;
    this.#onProgress = onProgress;
    // Its failures reach this stream through the write callbacks, or `finished` at the end.
    sink.on("error", (error) => this.destroy(error));
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#onProgress?.(this.#digester.size + chunk.byteLength);
    this.#sink.write(chunk, (error) => {
      if (error) return callback(error);
      this.#digester.update(chunk);
      callback();
    });
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#sink.end();
    finished(this.#sink).then(() => callback(), callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (!this.#sink.destroyed) this.#sink.destroy(error ?? undefined);
    callback(error);
  }

  digest(): { diffId: Digest; size: number } {
    return { diffId: this.#digester.digest(), size: this.#digester.size };
  }
}

/** Tars larger than this are hashed and written by the hashing thread; smaller ones here, at their end. */
const THREAD_BYTES = 8 * 1024 * 1024;

/**
 * The last stage of an uncompressed layer going into a new file. While the tar is small its
 * blocks are kept, then written and hashed here at its end. Past THREAD_BYTES, or at the
 * first range to copy, the hashing thread (thread-digester.ts) takes over: the blocks go to
 * it without a copy, and it hashes them and writes them (direct I/O where it can), with the
 * ranges it copies itself, so the walk, the reads and the steps beside it keep this thread.
 */
class FileWriteThenHash extends Writable {
  readonly #file: LayerFile;
  readonly #onProgress: ((tarBytes: number) => void) | undefined;
  #size = 0;
  /** The tar so far, while it is small. */
  #held: Buffer[] = [];
  #heldBytes = 0;
  #thread: ThreadDigester | undefined;

  constructor(file: LayerFile, onProgress: ((tarBytes: number) => void) | undefined) {
    super({ objectMode: true, highWaterMark: 4 });
    this.#file = file;
    this.#onProgress = onProgress;
  }

  override _write(piece: TarPiece, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    const length = Buffer.isBuffer(piece) ? piece.byteLength : piece.length;
    this.#size += length;
    this.#onProgress?.(this.#size);
    let caughtUp: Promise<void> | undefined;
    try {
      if (Buffer.isBuffer(piece) && this.#thread === undefined) {
        this.#held.push(piece);
        this.#heldBytes += length;
        if (this.#heldBytes >= THREAD_BYTES) caughtUp = this.#startThread().caughtUp;
      } else {
        // Sent after the blocks held so far, so hashed and written after them.
        const thread = this.#thread ?? this.#startThread().thread;
        caughtUp = Buffer.isBuffer(piece) ? thread.update(piece) : thread.copy(piece, () => shortReuseSource(piece.source));
      }
    } catch (failure) {
      return callback(failure as Error);
    }
    if (caughtUp === undefined) callback();
    else caughtUp.then(() => callback(), callback);
  }

  /** The tar's digest and size, once everything is written. */
  async digest(): Promise<{ diffId: Digest; size: number }> {
    if (this.#thread !== undefined) return { diffId: await this.#thread.digest(), size: this.#size };
    const held = this.#held;
    this.#held = [];
    await writeAll(this.#file.fd, held);
    const digester = new Digester();
    for (const chunk of held) digester.update(chunk);
    return { diffId: digester.digest(), size: this.#size };
  }

  /** After a failure: once this settles, nothing writes into the file any more. */
  async settle(): Promise<void> {
    this.#held = [];
    await this.#thread?.drop();
  }

  #startThread(): { thread: ThreadDigester; caughtUp: Promise<void> | undefined } {
    const thread = (this.#thread = threadDigester());
    thread.writeInto({ path: this.#file.path, fd: this.#file.fd });
    let caughtUp: Promise<void> | undefined;
    for (const held of this.#held) caughtUp = thread.update(held) ?? caughtUp;
    this.#held = [];
    return { thread, caughtUp };
  }
}

/** `chunks` into `fd` from its start (a write may take less than asked: the disk filled). */
async function writeAll(fd: number, chunks: Buffer[]): Promise<void> {
  let position = 0;
  let rest = chunks.filter((chunk) => chunk.byteLength > 0);
  while (rest.length > 0) {
    let written = await new Promise<number>((resolve, reject) => writev(fd, rest, position, (error, count) => (error ? reject(error) : resolve(count))));
    position += written;
    while (rest.length > 0 && written >= rest[0].byteLength) {
      written -= rest[0].byteLength;
      rest = rest.slice(1);
    }
    if (written > 0) rest = [rest[0].subarray(written), ...rest.slice(1)];
  }
}

function shortReuseSource(source: string): TsbuildError {
  return new TsbuildError("CONFLICT", `Cannot reuse entries of "${source}": it is shorter than its index says`);
}

interface TarOptions {
  epoch: number | undefined;
  reuse?: LayerReuse;
  /** Filled with the regular files' entries when asked for. */
  index?: LayerEntryIndex[];
  reusedBytes: number;
  /** Reused ranges go on as ranges for the writer to copy (it writes into a file), not read here. */
  copies: boolean;
}

/** A hash of a header, for telling whether an entry of an earlier layer has this one's bytes. */
function headerHash(header: Buffer): string {
  return hashOnce === undefined ? createHash("sha256").update(header).digest("base64") : hashOnce("sha256", header, "base64");
}

/** `crypto.hash` (Node 20.12 and later): one call, no Hash object per header. */
const hashOnce = (crypto as { hash?: (algorithm: string, data: Buffer, encoding: "base64") => string }).hash;

async function* tarStream(entries: AsyncIterable<LayerWriteEntry> | Iterable<LayerWriteEntry>, options: TarOptions): AsyncGenerator<TarPiece> {
  const { epoch, reuse, index, copies } = options;
  const firstPathOfInode = new Map<string, string>();
  /** Bytes of the tar queued so far: the offset of the next entry. */
  let offset = 0;
  // File reads are started ahead, side by side, while the tree is walked and earlier bytes
  // are hashed and written; what they give goes on in archive order.
  const parts = new TarReadAhead();
  const source = reuse === undefined || copies ? undefined : new SharedFile(reuse.source);
  /** Reused entries next to each other in the source are read (or copied) as one range, in pieces. */
  let range: { start: number; end: number } | undefined;
  const endRange = () => {
    if (range === undefined) return;
    if (source === undefined) parts.pushCopy({ source: reuse!.source, position: range.start, length: range.end - range.start });
    else for (let at = range.start; at < range.end; at += READ_PIECE) {
      const [position, length] = [at, Math.min(READ_PIECE, range.end - at)];
      parts.pushRead(length, () => source!.read(position, length));
    }
    range = undefined;
  };
  try {
    let written = 0;
    for await (const entry of entries) {
      // One kill point a layer, with part of the tar written and no blob recorded yet.
      if (++written === 3) crashPoint("layer-writer.partial");
      let mtime = Math.floor(entry.mtime);
      if (epoch !== undefined && mtime > epoch) mtime = epoch;
      // One object literal (no spreads): this runs once per file of the layer.
      const fields: EncodableTarHeader = {
        path: entry.path,
        type: entry.type,
        mode: entry.mode,
        uid: entry.uid,
        gid: entry.gid,
        size: entry.type === "file" ? (entry.size ?? 0) : 0,
        mtime: Math.max(0, mtime),
        linkpath: entry.linkpath ?? "",
        devmajor: entry.devmajor ?? 0,
        devminor: entry.devminor ?? 0,
        xattrs: entry.xattrs ?? NO_XATTRS,
      };
      if (entry.inode !== undefined && entry.type !== "directory") {
        const first = firstPathOfInode.get(entry.inode);
        if (first !== undefined) {
          endRange();
          fields.type = "hardlink";
          fields.size = 0;
          fields.linkpath = first;
          const header = encodeTarHeader(fields);
          parts.push(header);
          offset += header.length;
          continue;
        }
        firstPathOfInode.set(entry.inode, entry.path);
      }
      const size = fields.size;
      const header = encodeTarHeader(fields);
      const padding = paddingFor(size);
      const length = header.length + size + padding.length;
      if (entry.type === "file" && entry.fileId !== undefined && (reuse !== undefined || index !== undefined)) {
        const hash = headerHash(header);
        index?.push({ path: entry.path, fileId: entry.fileId, offset, length, header: hash });
        const old = reuse?.entries.get(entry.path);
        if (old !== undefined && old.fileId === entry.fileId && old.header === hash && old.length === length) {
          // The same inode under the same header: the old entry's bytes are this one's.
          if (range !== undefined && range.end === old.offset) range.end += length;
          else {
            endRange();
            range = { start: old.offset, end: old.offset + length };
          }
          // A long range is read while the walk goes on.
          if (range.end - range.start >= READ_PIECE) endRange();
          offset += length;
          options.reusedBytes += length;
          continue;
        }
      }
      endRange();
      parts.push(header);
      if (size > 0) {
        if (entry.sourcePath === undefined) {
          throw new TsbuildError("INTERNAL", `Cannot write layer entry "${entry.path}": no source for its ${size} bytes`);
        }
        const [sourcePath, changed] = [entry.sourcePath, () => changedSize(entry.path)];
        if (size <= SMALL_FILE) parts.pushSmallFile(sourcePath, size, changed);
        else for (let at = 0; at < size; at += READ_PIECE) {
          const piece = { position: at, length: Math.min(READ_PIECE, size - at), atEnd: at + READ_PIECE >= size };
          parts.pushRead(piece.length, () => readFilePiece(sourcePath, piece, changed));
        }
        parts.push(padding);
      }
      offset += length;
      for (const block of parts.ready()) yield block;
      while (parts.full()) for (const block of await parts.next()) yield block;
    }
    endRange();
    parts.push(endOfArchive());
    while (!parts.empty) for (const block of await parts.next()) yield block;
  } finally {
    // After a failure reads may still be under way on the earlier layer's descriptor.
    await parts.settle();
    await source?.close();
  }
}

const NO_XATTRS: ReadonlyMap<string, Buffer> = new Map();

function changedSize(path: string): TsbuildError {
  return new TsbuildError("CONFLICT", `Cannot write layer entry "${path}": the file changed size while being read`, {
    hint: "Do not change a snapshot while its diff is being taken",
  });
}
