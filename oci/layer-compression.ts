import { spawn, spawnSync } from "node:child_process";
import { Duplex, PassThrough, Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { TsbuildError } from "../errors.js";
import { OCI_MEDIA_TYPES } from "./media-types.js";
import { createParallelGzip } from "./parallel-gzip.js";
import { zlib } from "../util/lazy-builtin.js";

/** Compressions a layer blob can have. */
export type LayerCompression = "gzip" | "zstd" | "none";

/** OCI media types of layer blobs, by compression. */
export const LAYER_MEDIA_TYPES: Record<LayerCompression, string> = {
  gzip: OCI_MEDIA_TYPES.layerGzip,
  zstd: OCI_MEDIA_TYPES.layerZstd,
  none: OCI_MEDIA_TYPES.layer,
};

/** gzip level used for every layer: fixed so that the same tree gives the same digest. */
export const GZIP_LEVEL = 6;
/**
 * zlib's output buffer: larger than the 16 KiB default, so a layer is fewer chunks through
 * the hashes and writes. The compressed bytes do not depend on it.
 */
const ZLIB_CHUNK = 256 * 1024;
/** zstd level (the zstd tool's default); its worker threads do not change the bytes (`-T0` = `-T1`). */
export const ZSTD_LEVEL = 3;

let zstdAvailable: boolean | undefined;

/** True when the `zstd` binary is on PATH (Node 20's zlib has no zstd). */
export function isZstdAvailable(): boolean {
  zstdAvailable ??= spawnSync("zstd", ["--version"], { stdio: "ignore" }).status === 0;
  return zstdAvailable;
}

/** The compression of a blob from its first bytes (gzip 1f 8b, zstd 28 b5 2f fd, else none). */
export function detectCompression(head: Uint8Array): LayerCompression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return "gzip";
  if (head.length >= 4 && head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return "zstd";
  return "none";
}

/**
 * A compressor for `compression`, on every core. gzip is block-parallel at a fixed level
 * with a header of mtime 0 and no file name (parallel-gzip.ts), so the output depends on
 * the input bytes only.
 */
export function createCompressor(compression: LayerCompression): Duplex {
  if (compression === "gzip") return createParallelGzip({ level: GZIP_LEVEL });
  if (compression === "zstd") return zstdProcess(["-q", "-c", `-${ZSTD_LEVEL}`, "-T0", "--no-progress"]);
  return new PassThrough();
}

/** A decompressor for `compression`. */
export function createDecompressor(compression: LayerCompression): Duplex {
  // The default finish flush makes a truncated gzip stream an error, as it must be.
  if (compression === "gzip") return zlib().createGunzip({ chunkSize: ZLIB_CHUNK });
  if (compression === "zstd") return zstdProcess(["-q", "-d", "-c", "--no-progress"]);
  return new PassThrough();
}

/**
 * Detects the compression of `source` from its first bytes and returns the uncompressed
 * stream. Errors of the source or the decompressor end the returned stream with an error.
 */
export async function openDecompressed(source: Readable): Promise<{ stream: Readable; compression: LayerCompression }> {
  return openSniffed(source, { detect: detectCompression, decompressor: createDecompressor });
}

/** How `openSniffed` tells a compression and undoes it. */
export interface Sniffer<C extends string> {
  /** The compression from the first bytes (up to 6). */
  detect(head: Uint8Array): C;
  decompressor(compression: C): Duplex;
}

/**
 * The uncompressed stream of `source`, whose compression `sniffer` tells from its first
 * bytes. Failures of the decompressor (truncated or corrupt data) become INVALID_ARCHIVE;
 * failures of the source (a missing file, a broken connection) stay what they are.
 */
export async function openSniffed<C extends string>(source: Readable, sniffer: Sniffer<C>): Promise<{ stream: Readable; compression: C }> {
  const iterator = source[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let head = Buffer.alloc(0);
  let ended = false;
  while (head.length < 6) {
    const next = await iterator.next();
    if (next.done) {
      ended = true;
      break;
    }
    head = Buffer.concat([head, Buffer.from(next.value)]);
  }
  const compression = sniffer.detect(head);
  let sourceError: unknown;
  async function* replay(): AsyncGenerator<Buffer> {
    if (head.length > 0) yield head;
    if (ended) return;
    for (;;) {
      let next: IteratorResult<Buffer>;
      try {
        next = await iterator.next();
      } catch (error) {
        sourceError = error;
        throw error;
      }
      if (next.done) return;
      yield Buffer.from(next.value);
    }
  }
  const decompressor = sniffer.decompressor(compression);
  // The decompressor can fail after its input has ended and after the reader stopped (a tar
  // reader that found garbage quits; a program exits non-zero later): by then the pipeline and
  // the iteration below have let go of it, and an 'error' nobody listens to kills the
  // process. Kept here, a failure is reported by the iteration if it is still reading.
  let decompressorError: unknown;
  decompressor.on("error", (error) => (decompressorError ??= error));
  pipeline(Readable.from(replay()), decompressor).catch(() => undefined); // surfaces below
  async function* checked(): AsyncGenerator<Buffer> {
    try {
      for await (const chunk of decompressor) yield chunk as Buffer;
      if (decompressorError !== undefined) throw decompressorError;
    } catch (error) {
      if (error === sourceError || error instanceof TsbuildError) throw error;
      throw new TsbuildError("INVALID_ARCHIVE", `Cannot read layer: ${compression} data is corrupt or truncated`, { cause: error });
    }
  }
  const output = Readable.from(checked(), { objectMode: false });
  return { stream: output, compression };
}

/** The zstd binary as a duplex stream: stdin in, stdout out, a failing exit as an error. */
function zstdProcess(args: string[]): Duplex {
  if (!isZstdAvailable()) {
    throw new TsbuildError("SYSTEM", `Cannot use zstd compression: the "zstd" program is not installed`, {
      hint: "Install zstd (apt-get install zstd) or use gzip",
    });
  }
  return programStream("zstd", args);
}

/** A filter program as a duplex stream: stdin in, stdout out, a failing exit as an error. */
export function programStream(program: string, args: string[]): Duplex {
  const child = spawn(program, args, { stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (text: string) => (stderr += text));
  // End the readable side only once the program has exited well, so a failure is never mistaken
  // for a complete (truncated) stream.
  const output = new PassThrough();
  child.stdout.pipe(output, { end: false });
  const duplex = Duplex.from({ writable: child.stdin, readable: output });
  child.stdin.on("error", (error) => duplex.destroy(error));
  child.on("error", (error) => duplex.destroy(error));
  // A reader that stops early (a sniff of the first block) must not leave the program behind.
  duplex.on("close", () => {
    if (child.exitCode === null && child.signalCode === null) child.kill();
  });
  child.on("close", (code) => {
    if (code === 0) output.end();
    // Once the consumer has destroyed the stream, there is nobody left to tell.
    else if (!duplex.destroyed) duplex.destroy(new Error(`${program} exited with status ${code}: ${stderr.trim()}`));
  });
  return duplex;
}
