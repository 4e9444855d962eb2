import { randomBytes } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { mkdir, open, readdir, readFile, rename, unlink, utimes, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { Writable, type Readable } from "node:stream";
import { finished } from "node:stream/promises";
import { TsbuildError } from "../errors.js";
import { fromSystemError } from "../util/system-error.js";
import { Digester, isDigest, type Digest } from "../oci/digest.js";
import { syncDirectory } from "./atomic-file.js";
import { crashPoint } from "../util/crash-point.js";
import { currentProcess, formatProcessToken, isProcessAlive, parseProcessToken } from "./process-identity.js";
import { blobPath, type StorePaths } from "./store-paths.js";
import { statIfExists } from "../util/stat-if-exists.js";
import { SMALL_FILE_SYNC } from "../util/read-small-file.js";

/** A blob in the content store. */
export interface BlobInfo {
  digest: Digest;
  size: number;
  /** Last written (or re-written by a deduplicated write): garbage collection's grace clock. */
  modifiedAt: Date;
}

export interface WriteBlobOptions {
  /** The digest the content must have; a mismatch is a DIGEST_MISMATCH error. */
  digest?: Digest;
  /** The size the content must have. */
  size?: number;
  signal?: AbortSignal;
}

export interface CleanIngestOptions {
  /** Also remove files of live (or unknown) writers untouched for this long. Default 24 h. */
  maxIdleMs?: number;
}

/** The result of re-hashing one blob. */
export interface BlobVerification {
  digest: Digest;
  ok: boolean;
  actual: Digest;
  size: number;
}

export type BlobSource = string | Uint8Array | Readable | AsyncIterable<Uint8Array>;

/** A blob being written by a writer that hashes it itself (see `ContentStore.ingest`). */
export interface BlobIngest {
  /** Where the bytes go: this stream, or this file (not both). */
  readonly stream: Writable;
  /**
   * The new, empty file, for a writer that writes it itself (oci/layer-writer.ts `LayerFile`):
   * open until `commit` or `abort`; the commit takes its size from the file.
   */
  readonly file: { readonly path: string; readonly fd: number };
  /** Waits for `stream` to finish, then syncs and moves the bytes in place as blob `digest`, which the writer vouches for. */
  commit(blob: { digest: Digest; size: number }): Promise<BlobInfo>;
  /** Drops what was written (after a failure). */
  abort(): Promise<void>;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Blobs by sha256 digest under `<root>/content/blobs/sha256/<hex>` (the OCI layout's place).
 * A write streams into `content/ingest/<writer pid>-<start>-<rand>`, is hashed on the way,
 * checked against the expected digest and size, fsynced and renamed into place, so no reader
 * ever sees a partial blob and a killed writer leaves only an ingest file that names it.
 */
export class ContentStore {
  readonly #paths: StorePaths;

  constructor(paths: StorePaths) {
    this.#paths = paths;
  }

  /** The file of a blob (whether or not it exists). */
  path(digest: Digest): string {
    return blobPath(this.#paths, checkDigest(digest));
  }

  /** Writes a blob and returns its digest and size; writing an existing blob is cheap. */
  async write(source: BlobSource, options: WriteBlobOptions = {}): Promise<BlobInfo> {
    if (options.digest !== undefined) {
      checkDigest(options.digest);
      const existing = await this.stat(options.digest);
      if (existing !== undefined && (options.size === undefined || options.size === existing.size)) {
        discard(source);
        return this.#touch(existing);
      }
    }
    const ingest = await this.#openIngest();
    const digester = new Digester();
    try {
      for await (const chunk of chunks(source)) {
        if (options.signal?.aborted) throw new TsbuildError("CANCELLED", "Blob write cancelled", { cause: options.signal.reason });
        digester.update(chunk);
        if (options.size !== undefined && digester.size > options.size) break;
        await ingest.append(chunk);
      }
      const digest = digester.digest();
      if (options.size !== undefined && digester.size !== options.size) {
        throw new TsbuildError(
          "DIGEST_MISMATCH",
          `Blob size mismatch for "${options.digest ?? digest}": expected ${options.size} bytes, got ${digester.size > options.size ? `at least ${digester.size}` : digester.size}`,
        );
      }
      if (options.digest !== undefined && digest !== options.digest) {
        throw new TsbuildError("DIGEST_MISMATCH", `Blob digest mismatch: expected "${options.digest}", got "${digest}"`, {
          hint: "The content was corrupted or changed while it was copied; fetch it again",
        });
      }
      return await ingest.commit(digest);
    } catch (error) {
      discard(source);
      await ingest.abort();
      // A full disk or a read-only root names the store, not a bare "write".
      throw fromSystemError(error, `Cannot store a blob in "${this.#paths.content}"`) ?? error;
    }
  }

  /**
   * An ingest for a writer that hashes what it writes (a layer writer hashing its tar on the
   * way), so the bytes are not hashed a second time here: the writer fills `stream`, then
   * names the blob with `commit`. The same ingest, fsync and rename as `write`.
   */
  async ingest(): Promise<BlobIngest> {
    const file = await this.#openIngest();
    let failure: unknown;
    let stream: Writable | undefined;
    return {
      // Made when asked for: a writer of the file never ends it, so the commit must not wait for it.
      get stream() {
        return (stream ??= new Writable({
          highWaterMark: 4 * 1024 * 1024,
          writev: (chunks, callback) => {
            file.append(...chunks.map((c) => c.chunk as Buffer)).then(() => callback(), (error: unknown) => callback((failure = error) as Error));
          },
        }));
      },
      file: { path: file.path, fd: file.fd },
      commit: async ({ digest, size }) => {
        checkDigest(digest);
        if (stream !== undefined && !stream.writableFinished) await finished(stream);
        if (failure !== undefined) throw failure;
        if (stream === undefined) await file.sizeFromFile();
        if (file.size !== size) throw new TsbuildError("INTERNAL", `Blob "${digest}" was written as ${file.size} bytes, announced as ${size}`);
        return file.commit(digest);
      },
      abort: async () => {
        stream?.destroy();
        await file.abort();
      },
    };
  }

  async #openIngest(): Promise<IngestFile> {
    await mkdir(this.#paths.ingest, { recursive: true });
    const path = join(this.#paths.ingest, `${formatProcessToken(currentProcess())}-${randomBytes(6).toString("hex")}`);
    return new IngestFile(path, await open(path, "wx", 0o444), this.#paths);
  }

  /**
   * The whole content of a blob; NOT_FOUND when absent. Manifests, configs and indexes (a few
   * kilobytes, read on a build's way to its first step) are read synchronously, where four
   * hops through the thread pool cost more than the read; larger blobs through the pool.
   */
  async read(digest: Digest): Promise<Buffer> {
    const path = this.path(digest);
    try {
      return statSync(path).size <= SMALL_FILE_SYNC ? readFileSync(path) : await readFile(path);
    } catch (error) {
      throw notFoundOr(error, digest);
    }
  }

  /** A stream of a blob's content; NOT_FOUND when absent. */
  async openStream(digest: Digest): Promise<Readable> {
    const handle = await open(this.path(digest), "r").catch((error: unknown) => {
      throw notFoundOr(error, digest);
    });
    return handle.createReadStream();
  }

  /** Size and time of a blob, or undefined when absent. One synchronous call, as `read`. */
  async stat(digest: Digest): Promise<BlobInfo | undefined> {
    try {
      const info = statSync(this.path(digest));
      return { digest, size: info.size, modifiedAt: info.mtime };
    } catch (error) {
      if (errorCode(error) === "ENOENT") return undefined;
      throw error;
    }
  }

  async has(digest: Digest): Promise<boolean> {
    return (await this.stat(digest)) !== undefined;
  }

  /** Removes a blob; true when it existed. Callers hold the store lock (see Store.gc). */
  async delete(digest: Digest): Promise<boolean> {
    try {
      await unlink(this.path(digest));
      return true;
    } catch (error) {
      if (errorCode(error) === "ENOENT") return false;
      throw error;
    }
  }

  /** Every blob, in no particular order; files that are not blobs are skipped. */
  async *walk(): AsyncIterable<BlobInfo> {
    let names: string[];
    try {
      names = await readdir(this.#paths.blobs);
    } catch (error) {
      if (errorCode(error) === "ENOENT") return;
      throw error;
    }
    for (const name of names) {
      const digest = `sha256:${name}`;
      if (!isDigest(digest)) continue;
      const info = await this.stat(digest);
      if (info !== undefined) yield info;
    }
  }

  /** Re-hashes a blob (streamed) and says whether it still matches its name. */
  async verify(digest: Digest): Promise<BlobVerification> {
    const stream = await this.openStream(digest);
    const digester = new Digester();
    for await (const chunk of stream) digester.update(chunk as Buffer);
    const actual = digester.digest();
    return { digest, ok: actual === digest, actual, size: digester.size };
  }

  /**
   * Removes ingest files whose writer is dead, and any untouched for `maxIdleMs`. Files of a
   * live writer are kept: another process may be writing right now.
   */
  async cleanIngest(options: CleanIngestOptions = {}): Promise<string[]> {
    const maxIdleMs = options.maxIdleMs ?? DAY_MS;
    let names: string[];
    try {
      names = await readdir(this.#paths.ingest);
    } catch (error) {
      if (errorCode(error) === "ENOENT") return [];
      throw error;
    }
    const removed: string[] = [];
    for (const name of names) {
      const path = join(this.#paths.ingest, name);
      const writer = parseProcessToken(name);
      if (writer === undefined || isProcessAlive(writer)) {
        const info = await statIfExists(path);
        if (info === undefined || Date.now() - info.mtimeMs < maxIdleMs) continue;
      }
      await unlink(path).then(
        () => removed.push(name),
        () => undefined,
      );
    }
    return removed;
  }

  /** Marks a reused blob as fresh, so a concurrent garbage collection's grace period covers it. */
  async #touch(info: BlobInfo): Promise<BlobInfo> {
    const now = new Date();
    await utimes(this.path(info.digest), now, now).catch(() => undefined); // only the gc grace period reads the time; a read-only root cannot change it
    return { ...info, modifiedAt: now };
  }
}

/** An open ingest file: appended to, then fsynced and renamed into place, or removed. */
/** Written bytes after which an ingest starts flushing them to the disk, in the background. */
const EARLY_FLUSH_BYTES = 32 * 1024 * 1024;

class IngestFile {
  readonly #path: string;
  readonly #handle: FileHandle;
  readonly #paths: StorePaths;
  #size = 0;
  #closed = false;
  /** Bytes the last early flush was started at, and that flush while it runs. */
  #flushedAt = 0;
  #flushing: Promise<void> | undefined;

  constructor(path: string, handle: FileHandle, paths: StorePaths) {
    this.#path = path;
    this.#handle = handle;
    this.#paths = paths;
  }

  get size(): number {
    return this.#size;
  }

  get fd(): number {
    return this.#handle.fd;
  }

  get path(): string {
    return this.#path;
  }

  /** Takes the size the file has (written by someone else than `append`). */
  async sizeFromFile(): Promise<void> {
    this.#size = (await this.#handle.stat()).size;
  }

  async append(...buffers: Uint8Array[]): Promise<void> {
    let bytes = buffers.reduce((sum, b) => sum + b.byteLength, 0);
    this.#size += bytes;
    while (bytes > 0) {
      const { bytesWritten } = await this.#handle.writev(buffers);
      bytes -= bytesWritten;
      if (bytes > 0) buffers = skipBytes(buffers, bytesWritten);
    }
    // A large blob goes to the disk while it is written, a piece at a time, not all in the
    // commit's sync (the 200 MB layer of a COPY: ~70 ms of waiting after its last byte).
    if (this.#flushing === undefined && this.#size - this.#flushedAt >= EARLY_FLUSH_BYTES) {
      this.#flushedAt = this.#size;
      // A failure here shows again in the commit's own sync, which is the one that counts.
      this.#flushing = this.#handle.datasync().then(
        () => (this.#flushing = undefined),
        () => (this.#flushing = undefined),
      );
    }
  }

  async commit(digest: Digest): Promise<BlobInfo> {
    try {
      await this.#flushing;
      await this.#handle.sync();
      await this.#close();
      await mkdir(this.#paths.blobs, { recursive: true });
      crashPoint("content.ingested");
      await rename(this.#path, blobPath(this.#paths, digest));
    } catch (error) {
      await this.abort();
      throw error;
    }
    await syncDirectory(this.#paths.blobs);
    crashPoint("content.committed");
    return { digest, size: this.#size, modifiedAt: new Date() };
  }

  async abort(): Promise<void> {
    await this.#close().catch(() => undefined); // the file goes anyway
    await unlink(this.#path).catch(() => undefined); // already renamed or removed
  }

  async #close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#handle.close();
  }
}

/** `buffers` without their first `count` bytes (after a short writev). */
function skipBytes(buffers: Uint8Array[], count: number): Uint8Array[] {
  const rest: Uint8Array[] = [];
  for (const buffer of buffers) {
    if (count >= buffer.byteLength) count -= buffer.byteLength;
    else {
      rest.push(buffer.subarray(count));
      count = 0;
    }
  }
  return rest;
}

async function* chunks(source: BlobSource): AsyncIterable<Uint8Array> {
  if (typeof source === "string") yield Buffer.from(source, "utf8");
  else if (source instanceof Uint8Array) yield source;
  else for await (const chunk of source) yield typeof chunk === "string" ? Buffer.from(chunk) : chunk;
}

function discard(source: BlobSource): void {
  if (typeof source === "object" && source !== null && "destroy" in source && typeof source.destroy === "function") {
    (source as Readable).destroy();
  }
}

function checkDigest(digest: Digest): Digest {
  if (!isDigest(digest)) throw new TsbuildError("INVALID_REFERENCE", `Invalid digest "${String(digest)}": expected "sha256:" and 64 lowercase hex digits`);
  return digest;
}

function notFoundOr(error: unknown, digest: Digest): unknown {
  if (errorCode(error) !== "ENOENT") return error;
  return new TsbuildError("NOT_FOUND", `Blob "${digest}" is not in the content store`, { cause: error });
}

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}
