import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { chmod, mkdir, utimes } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { TsbuildError } from "../errors.js";

export interface DownloadOptions {
  /** `--checksum=sha256:...`: the download must hash to this. */
  checksum?: string;
  signal?: AbortSignal;
}

/**
 * ADD's URL source: downloads `url` into `dir/filename`, mode 0600 and its Last-Modified
 * time as BuildKit gives it, checking the checksum when one is given. The file is then
 * read like a context file, so its content is in the cache key of the ADD that copies it.
 */
export async function downloadUrl(url: string, dir: string, filename: string, options: DownloadOptions = {}): Promise<string> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, filename);
  let response: Response;
  try {
    response = await fetch(url, { redirect: "follow", ...(options.signal === undefined ? {} : { signal: options.signal }) });
  } catch (error) {
    if (options.signal?.aborted) throw new TsbuildError("CANCELLED", `Downloading "${url}" was cancelled`, { cause: error });
    throw new TsbuildError("SYSTEM", `Cannot download "${url}": ${error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error)}`, { cause: error });
  }
  if (!response.ok || response.body === null) {
    throw new TsbuildError("FILE_NOT_FOUND", `Cannot download "${url}": HTTP ${response.status} ${response.statusText}`.trimEnd());
  }
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
  return path;
}
