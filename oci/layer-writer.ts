import * as crypto from "node:crypto";
import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { unlink } from "node:fs/promises";
import { Readable, Transform, Writable } from "node:stream";
import { finished, pipeline } from "node:stream/promises";
import { TsbuildError } from "../errors.js";
import { Digester, type Digest } from "./digest.js";
import { createCompressor, LAYER_MEDIA_TYPES, type LayerCompression } from "./layer-compression.js";
import { encodeTarHeader, endOfArchive, paddingFor, type EncodableTarHeader, type TarEntryType } from "./layer-tar-header.js";
import { cancelledError } from "../util/cancelled-error.js";
import { READ_PIECE, readFilePiece, SharedFile, SMALL_FILE, TarReadAhead } from "./tar-read-ahead.js";
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
  /**
   * The destination stream keeps no chunk once its write has called back (it writes to a
   * file): an uncompressed layer's chunks may then go to the hashing thread without a copy.
   * Always so for a path.
   */
  keepsNoChunks?: boolean;
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
 * Writes `entries` as a layer tar, compressed, to a file path or a writable stream, streaming
 * file contents so the layer is never held in memory. Headers carry no atime, ctime, user
 * or group names; with a source date epoch every mtime is clamped to it, so one tree gives
 * one digest on any machine.
 */
export async function writeLayer(
  entries: AsyncIterable<LayerWriteEntry> | Iterable<LayerWriteEntry>,
  destination: string | Writable,
  options: WriteLayerOptions = {},
): Promise<LayerWriteResult> {
  const compression = options.compression ?? "gzip";
  const epoch = options.sourceDateEpoch === null ? undefined : (options.sourceDateEpoch ?? sourceDateEpochFromEnv());
  const sink = typeof destination === "string" ? createWriteStream(destination, { flags: "w", mode: 0o644 }) : destination;
  const tar: TarOptions = { epoch, ...(options.reuse === undefined ? {} : { reuse: options.reuse }), ...(options.index ? { index: [] } : {}), reusedBytes: 0 };
  const source = Readable.from(tarStream(entries, tar));
  // An uncompressed layer is its tar: one hash gives both digests, taken after each write.
  const uncompressed = compression === "none" ? new WriteThenHash(sink, { handOver: typeof destination === "string" || options.keepsNoChunks === true, onProgress: options.onProgress }) : undefined;
  const compressing = uncompressed === undefined ? compressingStages(compression, sink, options.onProgress) : undefined;
  const stages = compressing?.stages ?? [uncompressed as WriteThenHash];
  let tarDigest: { diffId: Digest; size: number };
  try {
    await pipeline([source, ...stages], options.signal === undefined ? {} : { signal: options.signal });
    tarDigest = compressing === undefined ? await (uncompressed as WriteThenHash).digest() : { diffId: compressing.tar.digest(), size: compressing.tar.size };
  } catch (error) {
    uncompressed?.drop();
    if (typeof destination === "string") {
      // A file stream still opening when the pipeline failed creates the file after that: wait for it.
      if (!sink.closed) await new Promise<void>((closed) => sink.once("close", () => closed()));
      await unlink(destination).catch(() => undefined); // a half-written layer; the write error is the one to report
    }
    throw options.signal?.aborted ? cancelledError("Writing the layer was cancelled", options.signal, error) : error;
  }
  const { diffId } = tarDigest;
  return {
    diffId,
    digest: compressing === undefined ? diffId : compressing.blob.digest(),
    size: compressing === undefined ? tarDigest.size : compressing.blob.size,
    uncompressedSize: tarDigest.size,
    compression,
    mediaType: LAYER_MEDIA_TYPES[compression],
    ...(tar.index === undefined ? {} : { index: tar.index }),
    ...(tar.reuse === undefined ? {} : { reusedBytes: tar.reusedBytes }),
  };
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

/** Tars larger than this are hashed on the hashing thread; smaller ones here, at their end. */
const THREAD_HASH_BYTES = 8 * 1024 * 1024;

/**
 * The last stage of an uncompressed layer: each chunk is written to `sink`, then hashed. With
 * `handOver` (a sink that keeps no chunk once written), a tar larger than THREAD_HASH_BYTES
 * goes to the hashing thread (thread-digester.ts) chunk by chunk, each once it is written,
 * so it can be handed over without a copy: about 180 ms of main thread a 200 MB layer, which
 * the walk, the reads and the steps beside it use instead. A smaller tar is kept and hashed
 * here when it ends.
 */
class WriteThenHash extends Writable {
  readonly #sink: Writable;
  readonly #handOver: boolean;
  readonly #onProgress: ((tarBytes: number) => void) | undefined;
  readonly #inline = new Digester();
  #size = 0;
  /** Chunks written and not hashed yet, while the tar is small. */
  #held: Buffer[] = [];
  #heldBytes = 0;
  #thread: ThreadDigester | undefined;

  constructor(sink: Writable, options: { handOver: boolean; onProgress: ((tarBytes: number) => void) | undefined }) {
    super();
    this.#sink = sink;
    this.#handOver = options.handOver;
    this.#onProgress = options.onProgress;
    // Its failures reach this stream through the write callbacks, or `finished` at the end.
    sink.on("error", (error) => this.destroy(error));
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#size += chunk.byteLength;
    this.#onProgress?.(this.#size);
    this.#sink.write(chunk, (error) => {
      if (error) return callback(error);
      let caughtUp: Promise<void> | undefined;
      try {
        caughtUp = this.#hash(chunk);
      } catch (failure) {
        return callback(failure as Error);
      }
      if (caughtUp === undefined) callback();
      else caughtUp.then(() => callback(), callback);
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

  /** The tar's digest and size, once everything is written. */
  async digest(): Promise<{ diffId: Digest; size: number }> {
    if (this.#thread !== undefined) return { diffId: await this.#thread.digest(), size: this.#size };
    for (const chunk of this.#held) this.#inline.update(chunk);
    this.#held = [];
    return { diffId: this.#inline.digest(), size: this.#size };
  }

  /** After a failure: the hashing thread forgets what it was given. */
  drop(): void {
    this.#thread?.drop();
    this.#held = [];
  }

  #hash(chunk: Buffer): Promise<void> | undefined {
    if (this.#thread !== undefined) return this.#thread.update(chunk);
    if (!this.#handOver) {
      this.#inline.update(chunk);
      return undefined;
    }
    this.#held.push(chunk);
    this.#heldBytes += chunk.byteLength;
    if (this.#heldBytes < THREAD_HASH_BYTES) return undefined;
    this.#thread = threadDigester();
    let caughtUp: Promise<void> | undefined;
    for (const held of this.#held) caughtUp = this.#thread.update(held) ?? caughtUp;
    this.#held = [];
    return caughtUp;
  }
}

interface TarOptions {
  epoch: number | undefined;
  reuse?: LayerReuse;
  /** Filled with the regular files' entries when asked for. */
  index?: LayerEntryIndex[];
  reusedBytes: number;
}

/** A hash of a header, for telling whether an entry of an earlier layer has this one's bytes. */
function headerHash(header: Buffer): string {
  return hashOnce === undefined ? createHash("sha256").update(header).digest("base64") : hashOnce("sha256", header, "base64");
}

/** `crypto.hash` (Node 20.12 and later): one call, no Hash object per header. */
const hashOnce = (crypto as { hash?: (algorithm: string, data: Buffer, encoding: "base64") => string }).hash;

async function* tarStream(entries: AsyncIterable<LayerWriteEntry> | Iterable<LayerWriteEntry>, options: TarOptions): AsyncGenerator<Buffer> {
  const { epoch, reuse, index } = options;
  const firstPathOfInode = new Map<string, string>();
  /** Bytes of the tar queued so far: the offset of the next entry. */
  let offset = 0;
  // File reads are started ahead, side by side, while the tree is walked and earlier bytes
  // are hashed and written; what they give goes on in archive order.
  const parts = new TarReadAhead();
  const source = reuse === undefined ? undefined : new SharedFile(reuse.source);
  /** Reused entries next to each other in the source are read as one range, in pieces. */
  let range: { start: number; end: number } | undefined;
  const endRange = () => {
    if (range === undefined) return;
    for (let at = range.start; at < range.end; at += READ_PIECE) {
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
