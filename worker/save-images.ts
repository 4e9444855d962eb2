import type { Writable } from "node:stream";
import type { ArchiveFormat } from "../oci/archive-format.js";
import { writeImageArchive, type ArchiveImage, type ArchiveIndex } from "../oci/archive-writer.js";
import type { Digest } from "../oci/digest.js";
import { formatReference, parseReference, withDefaultTag } from "../oci/reference.js";
import type { Platform } from "../oci/image-types.js";
import { isIndexMediaType, isManifestMediaType } from "../oci/media-types.js";
import { hostPlatform, resolveImage, type ResolvedImage } from "./resolve-image.js";
import type { Worker } from "./worker.js";

export interface SaveImagesOptions {
  /** A path (replaced only once the archive is complete) or a stream. */
  output: string | Writable;
  /** `docker` (default, as `docker save`) or `oci`. */
  format?: ArchiveFormat;
  /** Member mtimes in seconds (SOURCE_DATE_EPOCH); default 0. */
  sourceDateEpoch?: number;
  signal?: AbortSignal;
  /** Of a multi-platform image, save only this platform's image. Default: every platform the store holds, under the index. */
  platform?: Platform;
}

export interface SaveImagesResult {
  /** Each image saved, with the names it carries in the archive. */
  images: Array<{ id: Digest; manifestDigest: Digest; names: string[] }>;
}

/**
 * docker's `save`: writes images to a docker-archive (default) or an OCI archive, to a path
 * (replaced only once complete) or a stream. An image named by name carries that name; one
 * named by id carries none, as docker does. Layers go out as the store holds them.
 */
export async function saveImages(worker: Worker, references: readonly string[], options: SaveImagesOptions): Promise<SaveImagesResult> {
  const byManifest = new Map<Digest, { image: ArchiveImage | ArchiveIndex; id: Digest; names: string[] }>();
  for (const reference of references) {
    const index = options.platform === undefined ? await indexOf(worker, reference) : undefined;
    if (index !== undefined) {
      const entry = byManifest.get(index.digest) ?? { id: index.digest, names: [] as string[], image: index.archive };
      const name = nameIn(reference, index.names);
      if (name !== undefined && !entry.names.includes(name)) entry.names.push(name);
      byManifest.set(index.digest, entry);
      continue;
    }
    const resolved = await resolveImage(worker.store, reference, options.platform === undefined ? {} : { platform: options.platform });
    const name = nameIn(reference, resolved.summary.names);
    const entry = byManifest.get(resolved.manifestDigest) ?? { id: resolved.configDigest, names: [] as string[], image: archiveImageOf(worker, resolved) };
    if (name !== undefined && !entry.names.includes(name)) entry.names.push(name);
    byManifest.set(resolved.manifestDigest, entry);
  }
  const entries = [...byManifest.entries()];
  await writeImageArchive(
    options.output,
    entries.map(([, entry]) => ({ ...entry.image, names: entry.names })),
    {
      format: options.format ?? "docker",
      ...(options.sourceDateEpoch === undefined ? {} : { sourceDateEpoch: options.sourceDateEpoch }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    },
  );
  return { images: entries.map(([manifestDigest, entry]) => ({ id: entry.id, manifestDigest, names: entry.names })) };
}

/** An image of the store as the archive writer takes it: config, manifest and layers as stored. */
function archiveImageOf(worker: Worker, resolved: ResolvedImage): ArchiveImage {
  return {
    names: [],
    config: resolved.configBytes,
    manifest: resolved.manifestBytes,
    layers: resolved.manifest.layers.map((layer) => ({
      digest: layer.digest,
      mediaType: layer.mediaType,
      size: layer.size,
      open: () => worker.store.content.openStream(layer.digest),
    })),
  };
}

/**
 * A multi-platform image, kept whole: its index and every platform's image the store holds
 * (this host's first for docker-archive readers). Undefined for a single image, or an index
 * of which the store holds no platform.
 */
async function indexOf(worker: Worker, reference: string): Promise<{ digest: Digest; names: string[]; archive: ArchiveIndex } | undefined> {
  const summary = await worker.store.images.get(reference);
  if (!isIndexMediaType(summary.mediaType)) return undefined;
  const parsed = await worker.store.images.readManifest(summary.digest);
  if (parsed.kind !== "index") return undefined;
  const host = hostPlatform();
  const images: ArchiveImage[] = [];
  let primary = 0;
  for (const entry of parsed.index.manifests) {
    if (!isManifestMediaType(entry.mediaType) || !(await worker.store.content.has(entry.digest))) continue;
    const resolved = await resolveImage(worker.store, entry.digest, { fromContent: true });
    if (entry.platform?.os === host.os && entry.platform.architecture === host.architecture && primary === 0) primary = images.length;
    images.push(archiveImageOf(worker, resolved));
  }
  if (images.length === 0) return undefined;
  return { digest: summary.digest, names: summary.names, archive: { names: [], index: await worker.store.content.read(summary.digest), images, primary } };
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
