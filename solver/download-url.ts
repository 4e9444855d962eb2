import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { chmod, mkdir, utimes } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { TsbuildError } from "../errors.js";
import { cancelledError } from "../util/cancelled-error.js";
import { httpFetch } from "../util/http-fetch.js";

export interface DownloadOptions {
  /** `--checksum=sha256:...`: the download must hash to this. */
  checksum?: string;
  signal?: AbortSignal;
}

/**
 * ADD's URL source: downloads `url` into `dir/filename`, mode 0600 and its Last-Modified
 * time as BuildKit gives it, checking the checksum when one is given.
 */
export async function downloadUrl(url: string, dir: string, filename: string, options: DownloadOptions = {}): Promise<string> {
  const response = await requestUrl(url, options);
  if (!response.ok || response.body === null) {
    throw new TsbuildError("FILE_NOT_FOUND", `Cannot download "${url}": HTTP ${response.status} ${response.statusText}`.trimEnd());
  }
  return (await saveDownload(response, url, { dir, filename, ...options })).path;
}

/** A GET of `url` (redirects followed), with extra headers (`If-None-Match` ...); a network failure is a clear error. */
export async function requestUrl(url: string, options: { headers?: Record<string, string>; signal?: AbortSignal } = {}): Promise<Response> {
  try {
    return await httpFetch(url, { redirect: "follow", ...(options.headers === undefined ? {} : { headers: options.headers }), ...(options.signal === undefined ? {} : { signal: options.signal }) });
  } catch (error) {
    if (options.signal?.aborted) throw cancelledError(`Downloading "${url}" was cancelled`, options.signal, error);
    throw new TsbuildError("SYSTEM", `Cannot download "${url}": ${error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error)}`, { cause: error });
  }
}

/**
 * Writes a successful response's body to `dir/filename` (mode 0600, its Last-Modified time)
 * and answers its path and sha256 digest, checked against `checksum` when one is given.
 */
export async function saveDownload(response: Response, url: string, options: DownloadOptions & { dir: string; filename: string }): Promise<{ path: string; digest: string }> {
  if (!response.ok || response.body === null) {
    throw new TsbuildError("FILE_NOT_FOUND", `Cannot download "${url}": HTTP ${response.status} ${response.statusText}`.trimEnd());
  }
  await mkdir(options.dir, { recursive: true });
  const path = join(options.dir, options.filename);
  const hash = createHash("sha256");
  await pipeline(
    Readable.fromWeb(response.body as import("node:stream/web").ReadableStream<Uint8Array>),
    async function* (chunks: AsyncIterable<Buffer>) {
      for await (const chunk of chunks) {
        hash.update(chunk);
        yield chunk;
      }
    },
    createWriteStream(path, { mode: 0o600 }),
  );
  const digest = `sha256:${hash.digest("hex")}`;
  if (options.checksum !== undefined && options.checksum !== digest) {
    // BuildKit's words (source/http), so a search for them finds this.
    throw new TsbuildError("DIGEST_MISMATCH", `digest mismatch for ${url}: ${digest} (expected: ${options.checksum})`);
  }
  await chmod(path, 0o600);
  const modified = response.headers.get("last-modified");
  const time = modified === null ? undefined : new Date(modified);
  if (time !== undefined && !Number.isNaN(time.getTime())) await utimes(path, time, time);
  return { path, digest };
}
