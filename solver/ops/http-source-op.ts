import type { SourceDefinition } from "../../frontend/graph.js";
import { TsbuildError } from "../../errors.js";
import { digestOf } from "../../oci/digest.js";
import type { Store } from "../../store/store.js";
import { computeCacheKey } from "../cache-key.js";
import { requestUrl, saveDownload } from "../download-url.js";
import type { CacheMap, CacheMapContext, ExecuteContext, Operation } from "../operation.js";
import type { VertexResult } from "../types.js";
import type { StepEnvironment } from "./step-environment.js";

/** The ref kind of what tsbuild remembers of a URL it downloaded: its validators and content digest. */
export const HTTP_SOURCE_REF_KIND = "http-source";

interface Remembered {
  etag?: string;
  lastModified?: string;
  digest: string;
}

/**
 * ADD of a URL. Its key is the content's digest (and Last-Modified, which becomes the file's
 * mtime). As BuildKit does, a URL downloaded before is revalidated with its ETag and
 * Last-Modified: a 304 gives the remembered digest and nothing is downloaded, so a cached
 * ADD costs one request. A 200 is downloaded (for the key), and reused when the step runs.
 */
export class HttpSourceOp implements Operation<VertexResult> {
  readonly cached = false;
  readonly quiet = true;
  readonly #definition: Extract<SourceDefinition, { kind: "http" }>;
  readonly #env: StepEnvironment;
  #digest: string | undefined;
  #downloaded: Promise<string> | undefined;

  constructor(definition: Extract<SourceDefinition, { kind: "http" }>, env: StepEnvironment) {
    this.#definition = definition;
    this.#env = env;
  }

  async cacheMap(context: CacheMapContext): Promise<CacheMap> {
    const { url, filename, checksum } = this.#definition;
    const { refs } = this.#env.worker.store;
    const remembered = await recall(this.#env.worker.store, url);
    const headers: Record<string, string> = {};
    if (remembered?.etag !== undefined) headers["if-none-match"] = remembered.etag;
    if (remembered?.lastModified !== undefined) headers["if-modified-since"] = remembered.lastModified;
    const response = await requestUrl(url, { headers, signal: context.signal });
    let known: Remembered;
    if (response.status === 304 && remembered !== undefined) {
      await response.body?.cancel();
      if (checksum !== undefined && checksum !== remembered.digest) {
        // BuildKit's words (source/http), as for a fresh download.
        throw new TsbuildError("DIGEST_MISMATCH", `digest mismatch for ${url}: ${remembered.digest} (expected: ${checksum})`);
      }
      known = remembered;
    } else {
      const dir = await this.#env.scratchDir("http");
      const saved = await saveDownload(response, url, { dir, filename, signal: context.signal, ...(checksum === undefined ? {} : { checksum }) });
      this.#downloaded = Promise.resolve(dir);
      const etag = response.headers.get("etag") ?? undefined;
      const lastModified = response.headers.get("last-modified") ?? undefined;
      known = { digest: saved.digest, ...(etag === undefined ? {} : { etag }), ...(lastModified === undefined ? {} : { lastModified }) };
      if (etag !== undefined || lastModified !== undefined) {
        // Only the next build's revalidation is lost if this cannot be written.
        await refs.put(HTTP_SOURCE_REF_KIND, idOf(url), { labels: { "tsbuild.http": JSON.stringify(known) } }).catch(() => undefined);
      }
    }
    this.#digest = known.digest;
    return {
      key: computeCacheKey(this.#definition, { inputs: [], checksums: [`${known.digest} ${known.lastModified ?? ""}`] }),
      contents: [`${JSON.stringify(filename)} file 600 ${known.digest}`],
    };
  }

  async execute(context: ExecuteContext): Promise<VertexResult> {
    this.#downloaded ??= this.#download(context.signal);
    return { kind: "directory", path: await this.#downloaded, exclude: [] };
  }

  /** The step that reads it must run after a 304: download it now, and it must be what was revalidated. */
  async #download(signal: AbortSignal): Promise<string> {
    const { url, filename } = this.#definition;
    const dir = await this.#env.scratchDir("http");
    const saved = await saveDownload(await requestUrl(url, { signal }), url, { dir, filename, signal });
    if (saved.digest !== this.#digest) {
      throw new TsbuildError("CONFLICT", `Cannot add "${url}": it changed during the build (was "${this.#digest}", now "${saved.digest}")`, { hint: "Build again" });
    }
    return dir;
  }
}

async function recall(store: Store, url: string): Promise<Remembered | undefined> {
  const text = (await store.refs.get(HTTP_SOURCE_REF_KIND, idOf(url)))?.labels?.["tsbuild.http"];
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as Remembered;
  } catch {
    return undefined; // a damaged record only costs a download
  }
}

function idOf(url: string): string {
  return digestOf(url).replace("sha256:", "sha256-");
}
