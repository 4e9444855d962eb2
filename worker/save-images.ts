import type { Writable } from "node:stream";
import type { ArchiveFormat } from "../oci/archive-format.js";
import { writeImageArchive, type ArchiveImage, type ArchiveIndex } from "../oci/archive-writer.js";
import { digestOf, type Digest } from "../oci/digest.js";
import { formatReference, parseReference, withDefaultTag } from "../oci/reference.js";
import { serializeJson, type ImageIndex, type Platform } from "../oci/image-types.js";
import { isIndexMediaType, isManifestMediaType } from "../oci/media-types.js";
import { distributableManifest, type DistributableOptions, type DistributionCompression } from "./distributable-layer.js";
import { hostPlatform, resolveImage, type ResolvedImage } from "./resolve-image.js";
import type { Worker } from "./worker.js";

export interface SaveImagesOptions {
  /** A path (replaced only once the archive is complete) or a stream. */
  output: string | Writable;
  /** `docker` (default, as `docker save`) or `oci`. */
  format?: ArchiveFormat;
  /** How layers the store keeps uncompressed are compressed in the archive. Default gzip. */
  compression?: DistributionCompression;
  /** Member mtimes in seconds (SOURCE_DATE_EPOCH); default 0. */
  sourceDateEpoch?: number;
  signal?: AbortSignal;
  /** Of a multi-platform image, save only this platform's image. Default: every platform the store holds, under the index. */
  platform?: Platform;
}

export interface SaveImagesResult {
  /**
   * Each image saved, with the names it carries in the archive. `manifestDigest` is the
   * archive's manifest: the stored one, or its copy with compressed layers.
   */
  images: Array<{ id: Digest; manifestDigest: Digest; names: string[] }>;
}

/**
 * docker's `save`: writes images to a docker-archive (default) or an OCI archive, to a path
 * (replaced only once complete) or a stream. An image named by name carries that name; one
 * named by id carries none, as docker does. Layers go out compressed: as they came when
 * pulled or loaded, gzip (or `compression`) when the store keeps them uncompressed.
 */
export async function saveImages(worker: Worker, references: readonly string[], options: SaveImagesOptions): Promise<SaveImagesResult> {
  const byManifest = new Map<Digest, { image: ArchiveImage | ArchiveIndex; id: Digest; manifestDigest: Digest; names: string[] }>();
  const distribution: DistributableOptions = options.compression === undefined ? {} : { compression: options.compression };
  for (const reference of references) {
    const index = options.platform === undefined ? await indexOf(worker, reference, distribution) : undefined;
    if (index !== undefined) {
      const entry = byManifest.get(index.digest) ?? { id: index.digest, manifestDigest: index.distributedDigest, names: [] as string[], image: index.archive };
      const name = nameIn(reference, index.names);
      if (name !== undefined && !entry.names.includes(name)) entry.names.push(name);
      byManifest.set(index.digest, entry);
      continue;
    }
    const resolved = await resolveImage(worker.store, reference, options.platform === undefined ? {} : { platform: options.platform });
    const name = nameIn(reference, resolved.summary.names);
    let entry = byManifest.get(resolved.manifestDigest);
    if (entry === undefined) {
      const { image, digest } = await distributableImageOf(worker, resolved, distribution);
      entry = { id: resolved.configDigest, manifestDigest: digest, names: [] as string[], image };
    }
    if (name !== undefined && !entry.names.includes(name)) entry.names.push(name);
    byManifest.set(resolved.manifestDigest, entry);
  }
  const entries = [...byManifest.values()];
  await writeImageArchive(
    options.output,
    entries.map((entry) => ({ ...entry.image, names: entry.names })),
    {
      format: options.format ?? "docker",
      ...(options.sourceDateEpoch === undefined ? {} : { sourceDateEpoch: options.sourceDateEpoch }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    },
  );
  return { images: entries.map((entry) => ({ id: entry.id, manifestDigest: entry.manifestDigest, names: entry.names })) };
}

/**
 * An image of the store as the archive writer takes it: layers the store keeps uncompressed
 * go compressed (made once, then remembered), with a manifest that names them; `digest` and
 * `size` are that manifest's.
 */
async function distributableImageOf(worker: Worker, resolved: ResolvedImage, options: DistributableOptions): Promise<{ image: ArchiveImage; digest: Digest; size: number }> {
  const distributable = await distributableManifest(worker.store, resolved.manifestBytes, options);
  const image: ArchiveImage = {
    names: [],
    config: resolved.configBytes,
    manifest: distributable.bytes,
    layers: distributable.manifest.layers.map((layer) => ({
      digest: layer.digest,
      mediaType: layer.mediaType,
      size: layer.size,
      open: () => worker.store.content.openStream(layer.digest),
    })),
  };
  return { image, digest: distributable.digest, size: distributable.bytes.byteLength };
}

/**
 * A multi-platform image, kept whole: its index and every platform's image the store holds
 * (this host's first for docker-archive readers), each made distributable; the index names
 * the manifests that changed by their new digests. Undefined for a single image, or an index
 * of which the store holds no platform.
 */
async function indexOf(
  worker: Worker,
  reference: string,
  options: DistributableOptions,
): Promise<{ digest: Digest; distributedDigest: Digest; names: string[]; archive: ArchiveIndex } | undefined> {
  const summary = await worker.store.images.get(reference);
  if (!isIndexMediaType(summary.mediaType)) return undefined;
  const parsed = await worker.store.images.readManifest(summary.digest);
  if (parsed.kind !== "index") return undefined;
  const host = hostPlatform();
  const images: ArchiveImage[] = [];
  const manifests: ImageIndex["manifests"] = [];
  let primary = 0;
  for (const entry of parsed.index.manifests) {
    if (!isManifestMediaType(entry.mediaType) || !(await worker.store.content.has(entry.digest))) {
      manifests.push(entry);
      continue;
    }
    const resolved = await resolveImage(worker.store, entry.digest, { fromContent: true });
    if (entry.platform?.os === host.os && entry.platform.architecture === host.architecture && primary === 0) primary = images.length;
    const { image, digest, size } = await distributableImageOf(worker, resolved, options);
    images.push(image);
    manifests.push({ ...entry, digest, size });
  }
  if (images.length === 0) return undefined;
  const changed = manifests.some((entry, i) => entry.digest !== parsed.index.manifests[i].digest);
  const index = changed ? serializeJson({ ...parsed.index, manifests }) : await worker.store.content.read(summary.digest);
  return { digest: summary.digest, distributedDigest: changed ? digestOf(index) : summary.digest, names: summary.names, archive: { names: [], index, images, primary } };
}

/** The full name `text` stands for when it is one of `names` (not an id or digest). */
function nameIn(text: string, names: readonly string[]): string | undefined {
  try {
    const reference = parseReference(text);
    if (reference.digest !== undefined) return undefined;
    const name = formatReference(withDefaultTag(reference));
    return names.includes(name) ? name : undefined;
  } catch {
    return undefined;
  }
}
