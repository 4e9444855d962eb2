import type { Writable } from "node:stream";
import type { ArchiveFormat } from "../oci/archive-format.js";
import { writeImageArchive, type ArchiveImage } from "../oci/archive-writer.js";
import type { Digest } from "../oci/digest.js";
import { formatReference, parseReference, withDefaultTag } from "../oci/reference.js";
import { distributableManifest, type DistributionCompression } from "./distributable-layer.js";
import { resolveImage } from "./resolve-image.js";
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
  const byManifest = new Map<Digest, { image: ArchiveImage; id: Digest; manifestDigest: Digest; names: string[] }>();
  for (const reference of references) {
    const resolved = await resolveImage(worker.store, reference);
    const name = nameIn(reference, resolved.summary.names);
    let entry = byManifest.get(resolved.manifestDigest);
    if (entry === undefined) {
      // Layers the store keeps uncompressed go compressed (made once, then remembered).
      const distributable = await distributableManifest(worker.store, resolved.manifestBytes, options.compression === undefined ? {} : { compression: options.compression });
      entry = {
        id: resolved.configDigest,
        manifestDigest: distributable.digest,
        names: [] as string[],
        image: {
          names: [],
          config: resolved.configBytes,
          manifest: distributable.bytes,
          layers: distributable.manifest.layers.map((layer) => ({
            digest: layer.digest,
            mediaType: layer.mediaType,
            size: layer.size,
            open: () => worker.store.content.openStream(layer.digest),
          })),
        },
      };
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
