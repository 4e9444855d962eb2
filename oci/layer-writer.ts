import { createHash } from "node:crypto";
import { close, createReadStream, createWriteStream, open, read } from "node:fs";
import { unlink } from "node:fs/promises";
import { promisify } from "node:util";
import { Readable, Transform, type Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { TsbuildError } from "../errors.js";
import { Digester, type Digest } from "./digest.js";
import { createCompressor, LAYER_MEDIA_TYPES, type LayerCompression } from "./layer-compression.js";
import { BLOCK_SIZE, encodeTarHeader, endOfArchive, paddingFor, type TarEntryType } from "./layer-tar-header.js";
import { cancelledError } from "../util/cancelled-error.js";
import { crashPoint } from "../util/crash-point.js";

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

const SMALL_FILE = 1024 * 1024;

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
  const tarDigester = new Digester();
  const countTar = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      tarDigester.update(chunk);
      callback(null, chunk);
    },
  });
  // An uncompressed layer is its tar: one hash gives both digests.
  const blobDigester = compression === "none" ? undefined : new Digester();
  const stages: Transform[] = [countTar];
  if (blobDigester !== undefined) {
    stages.push(createCompressor(compression) as Transform, new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        blobDigester.update(chunk);
        callback(null, chunk);
      },
    }));
  }
  const sink = typeof destination === "string" ? createWriteStream(destination, { flags: "w", mode: 0o644 }) : destination;
  const tar: TarOptions = { epoch, ...(options.reuse === undefined ? {} : { reuse: options.reuse }), ...(options.index ? { index: [] } : {}), reusedBytes: 0 };
  try {
    await pipeline([Readable.from(tarStream(entries, tar)), ...stages, sink], options.signal === undefined ? {} : { signal: options.signal });
  } catch (error) {
    if (typeof destination === "string") {
      // A file stream still opening when the pipeline failed creates the file after that: wait for it.
      if (!sink.closed) await new Promise<void>((closed) => sink.once("close", () => closed()));
      await unlink(destination).catch(() => undefined); // a half-written layer; the write error is the one to report
    }
    throw options.signal?.aborted ? cancelledError("Writing the layer was cancelled", options.signal, error) : error;
  }
  const diffId = tarDigester.digest();
  return {
    diffId,
    digest: blobDigester === undefined ? diffId : blobDigester.digest(),
    size: blobDigester === undefined ? tarDigester.size : blobDigester.size,
    uncompressedSize: tarDigester.size,
    compression,
    mediaType: LAYER_MEDIA_TYPES[compression],
    ...(tar.index === undefined ? {} : { index: tar.index }),
    ...(tar.reuse === undefined ? {} : { reusedBytes: tar.reusedBytes }),
  };
}

interface TarOptions {
  epoch: number | undefined;
  reuse?: LayerReuse;
  /** Filled with the regular files' entries when asked for. */
  index?: LayerEntryIndex[];
  reusedBytes: number;
}

function headerHash(header: Buffer): string {
  return createHash("sha256").update(header).digest("base64");
}

const openFile = promisify(open);
const closeFile = promisify(close);
const readInto = (fd: number, buffer: Buffer, offset: number, length: number, position: number): Promise<number> =>
  new Promise((resolve, reject) => read(fd, buffer, offset, length, position, (error, bytesRead) => (error ? reject(error) : resolve(bytesRead))));

/** A piece of the tar in archive order: bytes, a small file being read, or a large file to stream. */
type TarPart = Buffer | { read: Promise<Buffer>; size: number } | { stream: string; size: number; path: string; start?: number };

/** Small files read ahead of the compressor, at most this many bytes and files at once. */
const READ_AHEAD_BYTES = 8 * 1024 * 1024;
const READ_AHEAD_FILES = 64;
/** The tar is handed on in blocks of about this size: fewer, larger writes to zlib and the hashes. */
const OUTPUT_BLOCK = 512 * 1024;

async function* tarStream(entries: AsyncIterable<LayerWriteEntry> | Iterable<LayerWriteEntry>, options: TarOptions): AsyncGenerator<Buffer> {
  const { epoch, reuse, index } = options;
  const firstPathOfInode = new Map<string, string>();
  /** Bytes of the tar queued so far: the offset of the next entry. */
  let offset = 0;
  /** Reused entries next to each other in the source are read as one range. */
  let range: { start: number; end: number } | undefined;
  const push = (part: Buffer) => {
    if (range !== undefined) {
      queue.push({ stream: reuse!.source, start: range.start, size: range.end - range.start, path: reuse!.source });
      range = undefined;
    }
    queue.push(part);
    offset += part.length;
  };
  // Small files are read side by side while earlier bytes are compressed (zlib runs in the
  // thread pool), then joined with their headers into large blocks, in archive order.
  const queue: TarPart[] = [];
  let queuedBytes = 0;
  let readsInFlight = 0;
  let block: Buffer[] = [];
  let blockBytes = 0;
  const flush = (): Buffer => {
    const bytes = block.length === 1 ? block[0] : Buffer.concat(block, blockBytes);
    block = [];
    blockBytes = 0;
    return bytes;
  };
  const take = async function* (): AsyncGenerator<Buffer> {
    const part = queue.shift()!;
    if (Buffer.isBuffer(part)) {
      block.push(part);
      blockBytes += part.length;
    } else if ("read" in part) {
      const bytes = await part.read;
      queuedBytes -= part.size;
      readsInFlight--;
      block.push(bytes);
      blockBytes += bytes.length;
    } else {
      if (blockBytes > 0) yield flush();
      yield* streamFile(part.stream, part.size, part.path, part.start ?? 0);
    }
    if (blockBytes >= OUTPUT_BLOCK) yield flush();
  };

  let written = 0;
  for await (const entry of entries) {
    // One kill point a layer, with part of the tar written and no blob recorded yet.
    if (++written === 3) crashPoint("layer-writer.partial");
    let mtime = Math.floor(entry.mtime);
    if (epoch !== undefined && mtime > epoch) mtime = epoch;
    const common = {
      path: entry.path,
      mode: entry.mode,
      uid: entry.uid,
      gid: entry.gid,
      mtime: Math.max(0, mtime),
      devmajor: entry.devmajor ?? 0,
      devminor: entry.devminor ?? 0,
      xattrs: entry.xattrs ?? new Map<string, Buffer>(),
    };
    if (entry.inode !== undefined && entry.type !== "directory") {
      const first = firstPathOfInode.get(entry.inode);
      if (first !== undefined) {
        push(encodeTarHeader({ ...common, type: "hardlink", size: 0, linkpath: first }));
        continue;
      }
      firstPathOfInode.set(entry.inode, entry.path);
    }
    const size = entry.type === "file" ? (entry.size ?? 0) : 0;
    const header = encodeTarHeader({ ...common, type: entry.type, size, linkpath: entry.linkpath ?? "" });
    const padding = paddingFor(size);
    if (entry.type === "file" && entry.fileId !== undefined && (reuse !== undefined || index !== undefined)) {
      const hash = headerHash(header);
      const length = header.length + size + padding.length;
      index?.push({ path: entry.path, fileId: entry.fileId, offset, length, header: hash });
      const old = reuse?.entries.get(entry.path);
      if (old !== undefined && old.fileId === entry.fileId && old.header === hash && old.length === length) {
        // The same inode under the same header: the old entry's bytes are this one's.
        if (range !== undefined && range.end === old.offset) range.end += length;
        else {
          push(Buffer.alloc(0));
          range = { start: old.offset, end: old.offset + length };
        }
        offset += length;
        options.reusedBytes += length;
        continue;
      }
    }
    push(header);
    if (size > 0) {
      if (entry.sourcePath === undefined) {
        throw new TsbuildError("INTERNAL", `Cannot write layer entry "${entry.path}": no source for its ${size} bytes`);
      }
      if (size <= SMALL_FILE) {
        const read = readExactly(entry.sourcePath, size, entry.path);
        // Awaited in order later; until then a failure must not count as unhandled.
        read.catch(() => undefined); // awaited where it is used; this only keeps an early failure from being unhandled
        queue.push({ read, size });
        queuedBytes += size;
        readsInFlight++;
      } else {
        queue.push({ stream: entry.sourcePath, size, path: entry.path });
      }
      offset += size;
      push(padding);
    }
    // Bytes and large files go on at once; a read waits until the read-ahead is full.
    while (queue.length > 0 && (Buffer.isBuffer(queue[0]) || !("read" in queue[0]) || queuedBytes > READ_AHEAD_BYTES || readsInFlight >= READ_AHEAD_FILES)) {
      yield* take();
    }
  }
  push(Buffer.alloc(0));
  while (queue.length > 0) yield* take();
  block.push(endOfArchive());
  blockBytes += BLOCK_SIZE * 2;
  yield flush();
}

/**
 * A small file's bytes: open, one read of its known size (plus one byte, to see growth),
 * close. readFile would add an fstat and a FileHandle per file, which shows with thousands
 * of small files. A file that shrank or grew meanwhile is an error.
 */
async function readExactly(sourcePath: string, size: number, path: string): Promise<Buffer> {
  const fd = await openFile(sourcePath, "r");
  try {
    const buffer = Buffer.allocUnsafe(size + 1);
    let filled = 0;
    for (;;) {
      const read = await readInto(fd, buffer, filled, buffer.length - filled, filled);
      if (read === 0) break;
      filled += read;
      if (filled > size) throw changedSize(path);
    }
    if (filled !== size) throw changedSize(path);
    return buffer.subarray(0, size);
  } finally {
    await closeFile(fd);
  }
}

/** Exactly `size` bytes of a large file, streamed; a file that shrank or grew meanwhile is an error. */
async function* streamFile(sourcePath: string, size: number, path: string, start: number): AsyncGenerator<Buffer> {
  let read = 0;
  for await (const chunk of createReadStream(sourcePath, { start, end: start + size - 1, highWaterMark: 1024 * 1024 })) {
    read += (chunk as Buffer).length;
    yield chunk as Buffer;
  }
  if (read !== size) throw changedSize(path);
}

function changedSize(path: string): TsbuildError {
  return new TsbuildError("CONFLICT", `Cannot write layer entry "${path}": the file changed size while being read`, {
    hint: "Do not change a snapshot while its diff is being taken",
  });
}
