import PQueue from "p-queue";
import { TsbuildError, isTsbuildError } from "../errors.js";
import type { Digest } from "../oci/digest.js";
import { parseManifestLike, type Descriptor, type ImageManifest, type Platform } from "../oci/image-types.js";
import { formatReference, parseReference, withDefaultTag, type ImageReference } from "../oci/reference.js";
import { hostPlatform } from "../worker/resolve-image.js";
import type { Worker } from "../worker/worker.js";
import { discardBlobs } from "./discard-blobs.js";
import { openRegistryClient, type RegistryAccessOptions } from "./open-registry-client.js";
import { readRegistriesConf } from "./registries-conf.js";
import { pullSources, searchCandidates } from "./registry-sources.js";
import { selectPlatformManifest } from "./platform-match.js";
import type { RegistryClient } from "./registry-client.js";
import type { TransferProgress } from "./transfer-progress.js";

export interface PullImageOptions extends RegistryAccessOptions {
  /** For a multi-platform image: the platform to pull. Default: this host's. */
  platform?: Platform;
  /**
   * `false`: the manifest and config only, and no name recorded (the store records whole
   * images only): what a build needs to resolve a base image whose layers it may never
   * need. Default true.
   */
  layers?: boolean;
  /** `false`: fetch what is missing but record no name or image (the caller records it). Default true. */
  record?: boolean;
}

export interface PullImageResult {
  /** The full name recorded (`docker.io/library/busybox:latest`); none for a pull by digest only. */
  name?: string;
  /** What the reference points at in the registry: the index or the manifest. */
  digest: Digest;
  /** The platform's image manifest (equal to `digest` for a single-platform image). */
  manifestDigest: Digest;
  /** The image id: the config digest. */
  id: Digest;
  /** Bytes downloaded; 0 when the store had everything. */
  downloadedBytes: number;
  /** True when the name pointed at another image before (or at none). */
  updated: boolean;
}

/**
 * docker's `pull`: fetches the manifest (for an index, the wanted platform's manifest), the
 * config and the layers it lacks, verifying each against its digest, then records the name
 * last. A failure records nothing and removes the blobs this pull wrote, so the store is as
 * it was; a killed pull leaves only ingest files that the next open of the store removes.
 *
 * @example
 * const { id } = await pullImage(worker, "localhost:5000/app:1");
 */
export async function pullImage(worker: Worker, text: string, options: PullImageOptions = {}): Promise<PullImageResult> {
  const registriesConf = options.registriesConf ?? (await readRegistriesConf(options.env === undefined ? {} : { env: options.env }));
  const candidates = searchCandidates(registriesConf, text);
  for (const [i, candidate] of candidates.entries()) {
    try {
      return await pullOne(worker, candidate, { ...options, registriesConf });
    } catch (error) {
      // A search registry without the image (or unreachable): the next one, as podman does.
      if (i === candidates.length - 1 || !isTsbuildError(error) || isTsbuildError(error, "CANCELLED") || isTsbuildError(error, "INVALID_REFERENCE")) throw error;
    }
  }
  throw new TsbuildError("INTERNAL", "searchCandidates gave no name");
}

async function pullOne(worker: Worker, text: string, options: PullImageOptions): Promise<PullImageResult> {
  const reference = withDefaultTag(parseReference(text));
  const store = worker.store;
  const { client, repository, top } = await fetchTopManifest(reference, options);
  const parsedTop = parseManifestLike(top.bytes, `manifest of "${text}"`);

  const written: Digest[] = [];
  const lease = await store.refs.acquireLease();
  try {
    let manifestBytes = top.bytes;
    let manifestDigest = top.digest;
    let manifest: ImageManifest;
    if (parsedTop.kind === "index") {
      const chosen = selectPlatformManifest(parsedTop.index, options.platform ?? hostPlatform(), text);
      const fetched = await client.getManifest(repository, chosen.digest);
      manifestBytes = fetched.bytes;
      manifestDigest = fetched.digest;
      const parsed = parseManifestLike(fetched.bytes, `manifest "${chosen.digest}" of "${text}"`);
      if (parsed.kind !== "manifest") throw new TsbuildError("INVALID_ARCHIVE", `Image "${text}" is an index of indexes, which tsbuild does not pull`);
      manifest = parsed.manifest;
    } else {
      manifest = parsedTop.manifest;
    }

    const downloadedBytes = await downloadBlobs(worker, client, { repository, manifest: options.layers === false ? { ...manifest, layers: [] } : manifest, written, options });
    // Manifests after their blobs, the index last, the name after everything.
    const documents: Array<{ bytes: Buffer; digest: Digest; kind: "manifest" | "index" }> = [{ bytes: manifestBytes, digest: manifestDigest, kind: "manifest" }];
    if (parsedTop.kind === "index") documents.push({ bytes: top.bytes, digest: top.digest, kind: "index" });
    for (const { bytes, digest, kind } of documents) {
      if (!(await store.content.has(digest))) written.push(digest);
      await store.content.write(bytes, { digest, size: bytes.byteLength });
      options.onProgress?.({ digest, kind, status: "done", current: bytes.byteLength, total: bytes.byteLength });
    }
    const result: PullImageResult = { digest: top.digest, manifestDigest, id: manifest.config.digest, downloadedBytes, updated: false };
    if (options.layers === false || options.record === false) return result;
    if (reference.tag !== undefined && reference.digest === undefined) {
      const name = formatReference(reference);
      const previous = await store.images.find(name);
      await store.images.tag(name, top.digest);
      result.name = name;
      result.updated = previous?.digest !== top.digest;
    } else {
      const existed = (await store.images.records()).some((record) => record.digest === top.digest);
      await store.images.keep(top.digest);
      result.updated = !existed;
    }
    return result;
  } catch (error) {
    await discardBlobs(store, written).catch(() => undefined); // unreferenced blobs go with the next gc; the pull error is the one to report
    throw error;
  } finally {
    await lease.release().catch(() => undefined); // a lease left behind dies with this process and is dropped on the next open
  }
}

/** Downloads the config and layers the store lacks, several at once; returns the bytes fetched. */
async function downloadBlobs(
  worker: Worker,
  client: RegistryClient,
  job: { repository: string; manifest: ImageManifest; written: Digest[]; options: PullImageOptions },
): Promise<number> {
  const { repository, manifest, written, options } = job;
  const store = worker.store;
  const blobs: Array<{ descriptor: Descriptor; kind: "config" | "layer" }> = [
    { descriptor: manifest.config, kind: "config" },
    ...manifest.layers.map((descriptor) => ({ descriptor, kind: "layer" as const })),
  ];
  const queue = new PQueue({ concurrency: options.concurrency ?? 4 });
  const abort = new AbortController();
  const signal = options.signal === undefined ? abort.signal : AbortSignal.any([abort.signal, options.signal]);
  let downloaded = 0;
  const seen = new Set<Digest>();
  const tasks = blobs.map(({ descriptor, kind }) =>
    queue.add(async () => {
      const { digest, size } = descriptor;
      const report = (status: TransferProgress["status"], current: number): void => options.onProgress?.({ digest, kind, status, current, total: size });
      if (seen.has(digest)) return;
      seen.add(digest);
      if (descriptor.urls !== undefined && descriptor.urls.length > 0 && !(await store.content.has(digest))) {
        throw new TsbuildError("NOT_FOUND", `Layer "${digest}" is a foreign layer (it lives at ${descriptor.urls.length} outside URL(s)), which tsbuild does not download`);
      }
      if ((await store.content.stat(digest))?.size === size) {
        report("exists", size);
        return;
      }
      report("downloading", 0);
      let current = 0;
      let lastReport = 0;
      const chunks = async function* (): AsyncGenerator<Uint8Array> {
        for await (const chunk of client.readBlob(repository, digest, { size })) {
          current += chunk.byteLength;
          downloaded += chunk.byteLength;
          // At most one event per MiB, plus the last: enough for a progress bar.
          if (current - lastReport >= 1 << 20) {
            lastReport = current;
            report("downloading", current);
          }
          yield chunk;
        }
      };
      try {
        await store.content.write(chunks(), { digest, size, signal });
      } catch (error) {
        if (isTsbuildError(error, "DIGEST_MISMATCH")) {
          throw new TsbuildError("DIGEST_MISMATCH", `Blob "${digest}" of "${client.endpoint.domain}/${repository}" is corrupt: ${error.message}`, {
            cause: error,
            hint: "The registry's copy does not match its digest; push the image again",
          });
        }
        throw error;
      }
      written.push(digest);
      report("done", size);
    }),
  );
  // The first failure in time stops the other downloads, whose own errors then only say
  // "cancelled"; all have ended before the caller cleans up.
  let firstError: { reason: unknown } | undefined;
  await Promise.allSettled(
    tasks.map((task) =>
      task.catch((error: unknown) => {
        firstError ??= { reason: error };
        abort.abort();
        throw error;
      }),
    ),
  );
  if (firstError !== undefined) throw firstError.reason;
  return downloaded;
}

/**
 * The image's manifest (or index) from the first source registries.conf gives that serves
 * it: its mirrors, then its location (see registry-sources.ts). A mirror that fails is
 * passed over, as the containers tools do; the last source's failure is the pull's.
 */
async function fetchTopManifest(
  reference: ImageReference,
  options: PullImageOptions,
): Promise<{ client: RegistryClient; repository: string; top: Awaited<ReturnType<RegistryClient["getManifest"]>> }> {
  const registriesConf = options.registriesConf ?? (await readRegistriesConf(options.env === undefined ? {} : { env: options.env }));
  const sources = pullSources(registriesConf, reference);
  for (const [i, source] of sources.entries()) {
    const client = await openRegistryClient(source.domain, {
      ...options,
      registriesConf,
      insecureRegistries: [...(options.insecureRegistries ?? []), ...(source.insecure ? [source.domain] : [])],
    });
    try {
      return { client, repository: source.repository, top: await client.getManifest(source.repository, reference.digest ?? reference.tag!) };
    } catch (error) {
      if (i === sources.length - 1 || isTsbuildError(error, "CANCELLED")) throw error;
    }
  }
  throw new TsbuildError("INTERNAL", "pullSources gave no source");
}
