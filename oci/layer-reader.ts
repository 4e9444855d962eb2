import type { Readable } from "node:stream";
import { TsbuildError } from "../errors.js";
import { Digester, type Digest } from "./digest.js";
import { openArchiveDecompressed, type ArchiveCompression } from "./archive-compression.js";
import { openDecompressed, type LayerCompression } from "./layer-compression.js";
import {
  BLOCK_SIZE,
  decodeTarBlock,
  entryTypeOf,
  isZeroBlock,
  parsePaxRecords,
  resolveTarHeader,
  type TarHeader,
} from "./layer-tar-header.js";

/** One entry of a layer, with its path normalised (no leading `./`, no trailing `/`). */
export interface LayerEntry extends TarHeader {
  /** The file's bytes; must be consumed (or left alone) before asking for the next entry. */
  body: AsyncIterable<Buffer>;
}

export interface LayerReaderOptions {
  /** Largest PAX or GNU long-name record accepted, in bytes. Default 1 MiB. */
  maxMetaSize?: number;
  /** "layer" (default): gzip, zstd or none, as layer media types allow. "any": also bzip2 and xz, as docker's `DecompressStream`. */
  compressions?: "layer" | "any";
  /**
   * "strict" (default): an absolute or `..` path is an error. "chroot": a leading `/` is
   * dropped and `..` stops at the root, as docker's untar sees paths (it runs chrooted in
   * the destination); for archives given to ADD.
   */
  paths?: "strict" | "chroot";
}

const DEFAULT_MAX_META = 1024 * 1024;

/**
 * Reads a layer blob (gzip, zstd or plain tar, detected from its magic bytes) entry by entry
 * without holding it in memory, and computes its diffID (sha256 of the uncompressed tar).
 * Every malformed or unsafe input (bad checksum, truncated data, oversized metadata, absolute
 * or `..` paths) ends the iteration with an INVALID_ARCHIVE error naming the entry.
 */
export class LayerReader {
  readonly #source: Readable;
  readonly #maxMeta: number;
  readonly #anyCompression: boolean;
  readonly #chroot: boolean;
  #sawEndMarker = false;
  readonly #digester = new Digester();
  #diffId: Digest | undefined;
  #compression: ArchiveCompression | undefined;

  constructor(source: Readable, options: LayerReaderOptions = {}) {
    this.#source = source;
    this.#maxMeta = options.maxMetaSize ?? DEFAULT_MAX_META;
    this.#anyCompression = options.compressions === "any";
    this.#chroot = options.paths === "chroot";
  }

  /** `sha256:<hex>` of the uncompressed tar; known once `entries()` has run to its end. */
  get diffId(): Digest {
    if (this.#diffId === undefined) throw new TsbuildError("INTERNAL", "Cannot tell the diffID: the layer was not read to its end");
    return this.#diffId;
  }

  /** Size of the uncompressed tar in bytes, once read. */
  get uncompressedSize(): number {
    return this.#digester.size;
  }

  /** True once the reader met the end-of-archive zero block (a tar cut between entries lacks it). */
  get sawEndMarker(): boolean {
    return this.#sawEndMarker;
  }

  /** The layer's compression once reading started (undefined for an archive's bzip2 or xz). */
  get compression(): LayerCompression | undefined {
    const compression = this.#compression;
    return compression === "bzip2" || compression === "xz" ? undefined : compression;
  }

  async *entries(): AsyncGenerator<LayerEntry> {
    const { stream, compression } = this.#anyCompression ? await openArchiveDecompressed(this.#source) : await openDecompressed(this.#source);
    this.#compression = compression;
    const bytes = new ByteReader(stream, (chunk) => this.#digester.update(chunk));
    try {
      let pax = new Map<string, Buffer>();
      let globalPax = new Map<string, Buffer>();
      let sawEntry = false;
      for (;;) {
        const offset = bytes.position;
        const block = await bytes.read(BLOCK_SIZE);
        if (block === undefined) break; // end of data at a header boundary, as Go's reader allows
        if (block.length < BLOCK_SIZE) throw truncated(`at offset ${offset}`);
        if (isZeroBlock(block)) {
          this.#sawEndMarker = true;
          break;
        }
        const where = `at offset ${offset}`;
        let raw;
        try {
          raw = decodeTarBlock(block, where);
        } catch (error) {
          if (!sawEntry && offset === 0) {
            throw new TsbuildError("INVALID_ARCHIVE", "Cannot read layer: not a tar archive", { cause: error });
          }
          throw error;
        }
        sawEntry = true;
        if (raw.typeflag === "x" || raw.typeflag === "g" || raw.typeflag === "L" || raw.typeflag === "K") {
          if (raw.size > this.#maxMeta) {
            throw new TsbuildError(
              "INVALID_ARCHIVE",
              `Cannot read layer: metadata record of ${raw.size} bytes ${where} is larger than the limit of ${this.#maxMeta} bytes`,
            );
          }
          const body = await bytes.readExactly(raw.size, where);
          await bytes.skipExactly(padding(raw.size), where);
          if (raw.typeflag === "x") for (const [k, v] of parsePaxRecords(body, where)) pax.set(k, v);
          else if (raw.typeflag === "g") for (const [k, v] of parsePaxRecords(body, where)) globalPax.set(k, v);
          else pax.set(raw.typeflag === "L" ? "path" : "linkpath", cutAtNul(body));
          continue;
        }
        const merged = new Map([...globalPax, ...pax]);
        pax = new Map();
        const header = resolveTarHeader(raw, { pax: merged, where });
        const type = entryTypeOf(header.typeflag);
        const named = `entry "${header.path}"`;
        if (type === undefined) {
          throw new TsbuildError("INVALID_ARCHIVE", `Cannot read layer: ${named} has unsupported type "${header.typeflag}"`);
        }
        const normalize = this.#chroot ? clampEntryPath : normalizeEntryPath;
        const path = normalize(header.path, named);
        const linkpath = type === "hardlink" ? normalize(header.linkpath, named) : type === "symlink" ? header.linkpath : "";
        if (type === "hardlink" && linkpath === "") {
          throw new TsbuildError("INVALID_ARCHIVE", `Cannot read layer: ${named} is a hard link to the root directory`);
        }
        // Only regular files carry data: like Go's archive/tar (docker's reader), every other
        // type is header-only whatever its size field says.
        const dataSize = type === "file" ? header.size : 0;
        let consumed = false;
        const body = (async function* (): AsyncGenerator<Buffer> {
          consumed = true;
          yield* bytes.stream(dataSize, named);
        })();
        yield { ...header, type, path, linkpath, size: type === "file" ? header.size : 0, body };
        if (!consumed) await bytes.skipExactly(dataSize, named);
        else await bytes.finishStream(named);
        await bytes.skipExactly(padding(dataSize), named);
      }
      // Hash whatever follows the end marker too: the diffID covers the whole blob.
      await bytes.drain();
      this.#diffId = this.#digester.digest();
    } finally {
      stream.destroy();
    }
  }
}

/**
 * Normalises a path from a layer: strips `./` and trailing slashes, and rejects absolute
 * paths and `..` components, which could reach outside the snapshot.
 */
export function normalizeEntryPath(path: string, named: string): string {
  if (path.startsWith("/")) {
    throw new TsbuildError("INVALID_ARCHIVE", `Cannot apply layer: ${named} has an unsafe path: an absolute path`);
  }
  if (path.includes("\0")) throw new TsbuildError("INVALID_ARCHIVE", `Cannot apply layer: ${named} has a NUL byte in its path`);
  const parts: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      throw new TsbuildError("INVALID_ARCHIVE", `Cannot apply layer: ${named} has an unsafe path: it has a ".." component`);
    }
    parts.push(part);
  }
  return parts.join("/");
}

/**
 * Normalises a path from an archive given to ADD the way docker's chrooted untar sees it:
 * a leading `/` is dropped and `..` never climbs above the root (`/../a` is `a`).
 */
export function clampEntryPath(path: string, named: string): string {
  if (path.includes("\0")) throw new TsbuildError("INVALID_ARCHIVE", `Cannot extract archive: ${named} has a NUL byte in its path`);
  const parts: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") parts.pop();
    else parts.push(part);
  }
  return parts.join("/");
}

function padding(size: number): number {
  return (BLOCK_SIZE - (size % BLOCK_SIZE)) % BLOCK_SIZE;
}

function cutAtNul(body: Buffer): Buffer {
  const nul = body.indexOf(0);
  return nul < 0 ? body : body.subarray(0, nul);
}

function truncated(where: string): TsbuildError {
  return new TsbuildError("INVALID_ARCHIVE", `Cannot read layer: the archive is truncated: it ends in the middle of an entry ${where}`);
}

/** Pull-style reading of exact byte counts from a stream of chunks. */
class ByteReader {
  readonly #iterator: AsyncIterator<Buffer>;
  readonly #onChunk: (chunk: Buffer) => void;
  #buffer: Buffer = Buffer.alloc(0);
  #done = false;
  #streamLeft = 0;
  position = 0;

  constructor(stream: Readable, onChunk: (chunk: Buffer) => void) {
    this.#iterator = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    this.#onChunk = onChunk;
  }

  async #fill(): Promise<boolean> {
    if (this.#done) return false;
    const next = await this.#iterator.next();
    if (next.done) {
      this.#done = true;
      return false;
    }
    const chunk = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value);
    this.#onChunk(chunk);
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    return true;
  }

  /** Up to `n` bytes; fewer only at the end; undefined when nothing is left. */
  async read(n: number): Promise<Buffer | undefined> {
    while (this.#buffer.length < n && (await this.#fill()));
    if (this.#buffer.length === 0) return undefined;
    const out = this.#buffer.subarray(0, n);
    this.#buffer = this.#buffer.subarray(out.length);
    this.position += out.length;
    return out;
  }

  async readExactly(n: number, where: string): Promise<Buffer> {
    if (n === 0) return Buffer.alloc(0);
    const out = await this.read(n);
    if (out === undefined || out.length < n) throw truncated(where);
    return Buffer.from(out);
  }

  async skipExactly(n: number, where: string): Promise<void> {
    let left = n;
    while (left > 0) {
      if (this.#buffer.length === 0 && !(await this.#fill())) throw truncated(where);
      const take = Math.min(left, this.#buffer.length);
      this.#buffer = this.#buffer.subarray(take);
      this.position += take;
      left -= take;
    }
  }

  /** Yields exactly `n` bytes as they arrive. */
  async *stream(n: number, where: string): AsyncGenerator<Buffer> {
    this.#streamLeft = n;
    while (this.#streamLeft > 0) {
      if (this.#buffer.length === 0 && !(await this.#fill())) throw truncated(where);
      const take = Math.min(this.#streamLeft, this.#buffer.length);
      const out = this.#buffer.subarray(0, take);
      this.#buffer = this.#buffer.subarray(take);
      this.position += take;
      this.#streamLeft -= take;
      yield out;
    }
  }

  /** Skips what a partly read `stream()` left unread. */
  async finishStream(where: string): Promise<void> {
    const left = this.#streamLeft;
    this.#streamLeft = 0;
    await this.skipExactly(left, where);
  }

  async drain(): Promise<void> {
    this.position += this.#buffer.length;
    this.#buffer = Buffer.alloc(0);
    while (await this.#fill()) {
      this.position += this.#buffer.length;
      this.#buffer = Buffer.alloc(0);
    }
  }
}
