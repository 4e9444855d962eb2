import PQueue from "p-queue";
import { TsbuildError } from "../errors.js";
import type { Digest } from "../oci/digest.js";
import { serializeJson, type Descriptor, type Platform } from "../oci/image-types.js";
import { OCI_MEDIA_TYPES } from "../oci/media-types.js";
import { formatReference, parseReference, withDefaultTag } from "../oci/reference.js";
import type { Store } from "../store/store.js";
import { distributableManifest, type DistributionCompression } from "../worker/distributable-layer.js";
import type { Worker } from "../worker/worker.js";
import { openRegistryRepository, type RegistryAccessOptions } from "./open-registry-client.js";
import { selectPlatformManifest } from "./platform-match.js";
import type { RegistryClient, UploadOutcome } from "./registry-client.js";

export interface PushImageOptions extends RegistryAccessOptions {
  /** Of a multi-platform image: push only this platform's manifest, under the tag. */
  platform?: Platform;
  /** Upload blobs bigger than this in PATCH chunks of this size; default one PUT each. */
  chunkSize?: number;
  /** How layers the store keeps uncompressed are compressed for the registry. Default gzip. */
  compression?: DistributionCompression;
  /**
   * Repositories of the target registry to mount blobs from. Default: the repositories of
   * the image's other names on that registry (an image pulled from `r/a` and tagged `r/b`).
   */
  mountFrom?: readonly string[];
}

export interface PushImageResult {
  /** The full name pushed (`localhost:5000/app:1`). */
  name: string;
  /** The digest of what the tag now points at. */
  digest: Digest;
  /** Its size in bytes (docker prints it). */
  size: number;
  /** What happened to each blob (config and layers), by digest. */
  blobs: Array<{ digest: Digest; outcome: UploadOutcome }>;
}

/**
 * docker's `push`: uploads what the registry lacks (HEAD first; a cross-repository mount
 * when another repository of it has the blob), then the manifests by digest, the index or
 * manifest by tag last, so the tag never names something incomplete.
 *
 * @example
 * const { digest } = await pushImage(worker, "localhost:5000/app:1");
 */
export async function pushImage(worker: Worker, text: string, options: PushImageOptions = {}): Promise<PushImageResult> {
  const parsedName = parseReference(text);
  if (parsedName.digest !== undefined) {
    throw new TsbuildError("USAGE", `Cannot push "${text}": push takes NAME[:TAG], not a digest`);
  }
  const reference = withDefaultTag(parsedName);
  const store = worker.store;
  const image = await store.images.get(formatReference(reference));
  // registries.conf may send the name elsewhere (`location`) or refuse it (`blocked`).
  const { client, repository, domain } = await openRegistryRepository(reference, options);
  const mountFrom =
    options.mountFrom ??
    image.names.flatMap((name) => {
      const other = parseReference(name);
      return other.domain === domain && other.path !== repository ? [other.path] : [];
    });
  const pusher = { store, client, repository, mountFrom, options, outcomes: new Map<Digest, UploadOutcome>() };

  const top = await store.images.readManifest(image.digest);
  let tagged: { bytes: Buffer; mediaType: string; digest: Digest };
  if (top.kind === "index" && options.platform === undefined) {
    // Every manifest the store lacks must already be in the target repository.
    const pushed: Descriptor[] = [];
    for (const entry of top.index.manifests) {
      if (await store.content.has(entry.digest)) {
        const manifest = await pushManifest(pusher, entry);
        pushed.push({ ...entry, digest: manifest.digest, size: manifest.bytes.byteLength });
        continue;
      }
      pushed.push(entry);
      if ((await client.headManifest(repository, entry.digest)) === undefined) {
        const platform = entry.platform === undefined ? "" : ` (${entry.platform.os}/${entry.platform.architecture})`;
        throw new TsbuildError("NOT_FOUND", `Cannot push "${text}": the store lacks manifest "${entry.digest}"${platform} of its index`, {
          hint: "Push one platform with --platform OS/ARCH, or pull the image with every platform",
        });
      }
    }
    // A manifest whose layers were compressed on the way out has a new digest: so has the index.
    const changed = pushed.some((entry, i) => entry.digest !== top.index.manifests[i].digest);
    const bytes = changed ? serializeJson({ ...top.index, manifests: pushed }) : await store.content.read(image.digest);
    const mediaType = top.index.mediaType ?? OCI_MEDIA_TYPES.index;
    tagged = { bytes, mediaType, digest: await client.putManifest(repository, { reference: reference.tag!, bytes, mediaType }) };
  } else {
    const descriptor = top.kind === "index" ? selectPlatformManifest(top.index, options.platform!, text) : { digest: image.digest, mediaType: image.mediaType, size: 0 };
    if (!(await store.content.has(descriptor.digest))) {
      throw new TsbuildError("NOT_FOUND", `Cannot push "${text}": the store lacks the manifest "${descriptor.digest}" of that platform`);
    }
    tagged = await pushManifest(pusher, descriptor, reference.tag!);
  }
  return {
    name: formatReference(reference),
    digest: tagged.digest,
    size: tagged.bytes.byteLength,
    blobs: [...pusher.outcomes].map(([blob, outcome]) => ({ digest: blob, outcome })),
  };
}

interface Pusher {
  store: Store;
  client: RegistryClient;
  repository: string;
  mountFrom: readonly string[];
  options: PushImageOptions;
  outcomes: Map<Digest, UploadOutcome>;
}

/**
 * Uploads a manifest's blobs, then PUTs the manifest under `reference` (a tag; default its
 * digest). Layers the store keeps uncompressed go compressed (made once, then remembered):
 * the manifest pushed then differs from the stored one, as docker's does.
 */
async function pushManifest(pusher: Pusher, descriptor: Pick<Descriptor, "digest" | "mediaType">, reference?: string): Promise<{ bytes: Buffer; mediaType: string; digest: Digest }> {
  const { store, client, repository, options } = pusher;
  const distributable = await distributableManifest(store, await store.content.read(descriptor.digest), options.compression === undefined ? {} : { compression: options.compression });
  const { bytes, manifest } = distributable;
  const blobs: Array<{ descriptor: Descriptor; kind: "config" | "layer" }> = [
    ...manifest.layers.map((layer) => ({ descriptor: layer, kind: "layer" as const })),
    { descriptor: manifest.config, kind: "config" },
  ];
  const queue = new PQueue({ concurrency: options.concurrency ?? 4 });
  const tasks = blobs.map(({ descriptor: blob, kind }) =>
    queue.add(async () => {
      const { digest, size } = blob;
      if (pusher.outcomes.has(digest)) return;
      if (!(await store.content.has(digest))) {
        throw new TsbuildError("NOT_FOUND", `Cannot push "${repository}": blob "${digest}" of manifest "${descriptor.digest}" is not in the content store`);
      }
      const report = (status: "exists" | "mounted" | "uploading" | "pushed", current: number): void => options.onProgress?.({ digest, kind, status, current, total: size });
      let lastReport = 0;
      let started = false;
      const outcome = await client.uploadBlob(
        repository,
        { digest, size, open: async () => (await store.content.openStream(digest)) as AsyncIterable<Uint8Array> },
        {
          mountFrom: pusher.mountFrom,
          ...(options.chunkSize === undefined ? {} : { chunkSize: options.chunkSize }),
          onProgress: (sent) => {
            if (!started) {
              started = true;
              report("uploading", 0);
            }
            if (sent - lastReport >= 1 << 20) {
              lastReport = sent;
              report("uploading", sent);
            }
          },
        },
      );
      pusher.outcomes.set(digest, outcome);
      report(outcome === "uploaded" ? "pushed" : outcome, size);
    }),
  );
  await Promise.all(tasks).catch((error: unknown) => {
    queue.clear(); // the manifest will not be pushed: start no more uploads
    throw error;
  });
  const mediaType = manifest.mediaType ?? descriptor.mediaType;
  const digest = await client.putManifest(repository, { reference: reference ?? distributable.digest, bytes, mediaType });
  options.onProgress?.({ digest, kind: "manifest", status: "pushed", current: bytes.byteLength, total: bytes.byteLength });
  return { bytes, mediaType, digest };
}
