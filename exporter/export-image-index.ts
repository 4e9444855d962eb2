import type { Digest } from "../oci/digest.js";
import { createImageIndex, serializeJson, type Descriptor, type ImageConfig, type Platform } from "../oci/image-types.js";
import { OCI_MEDIA_TYPES } from "../oci/media-types.js";
import { exportImage, type ExportedImage } from "../solver/export-image.js";
import type { ExportContext, SolvedBuild } from "./exporter.js";

/** One platform's image of a multi-platform build. */
export interface ExportedPlatformImage extends ExportedImage {
  /** `linux/arm64`. */
  platform: string;
}

/** What a multi-platform build exports: an OCI image index over one image per platform. `imageId` and `manifestDigest` are the index's digest. */
export interface ExportedImageIndex extends ExportedImage {
  platforms: ExportedPlatformImage[];
}

/** True for the export of a multi-platform build. */
export function isImageIndex(image: ExportedImage): image is ExportedImageIndex {
  return "platforms" in image && Array.isArray((image as ExportedImageIndex).platforms);
}

/**
 * A multi-platform build into the store: each platform's image (layers, config, manifest;
 * recorded only through the index), then an OCI image index naming each manifest with its
 * platform, tagged with every name (or kept nameless), as BuildKit's image exporter writes a
 * multi-platform result. The index is deterministic: same manifests, same index digest.
 */
export async function exportImageIndex(build: SolvedBuild & { platforms: NonNullable<SolvedBuild["platforms"]> }, names: readonly string[], context: ExportContext): Promise<ExportedImageIndex> {
  const { worker } = build;
  const platforms: ExportedPlatformImage[] = [];
  const manifests: Descriptor[] = [];
  for (const { platform, graph } of build.platforms) {
    const image = await exportImage(graph, {
      worker,
      cache: build.cache,
      keys: build.keys,
      snapshots: build.snapshots,
      record: false,
      ...(build.epoch === undefined ? {} : { epoch: build.epoch }),
      signal: context.signal,
      onLayer: (layer, index, count) => context.progress({ id: `${platform} ${layer}`, action: "write", current: index + 1, total: count, unit: "items", ...(index + 1 === count ? { done: true } : {}) }),
    });
    platforms.push({ ...image, platform });
    const size = (await worker.store.content.stat(image.manifestDigest))?.size ?? 0;
    manifests.push({ mediaType: OCI_MEDIA_TYPES.manifest, digest: image.manifestDigest, size, platform: platformOf(image.config) });
  }
  const bytes = serializeJson(createImageIndex(manifests));
  const written = await worker.store.content.write(bytes);
  const digest: Digest = written.digest;
  const tagged: string[] = [];
  for (const name of names) tagged.push((await worker.store.images.tag(name, digest)).name ?? name);
  if (names.length === 0) await worker.store.images.keep(digest);
  return { imageId: digest, manifestDigest: digest, names: tagged, config: platforms[0].config, layers: [], platforms };
}

/** The platform an image's config says it is for, as an index entry names it. */
function platformOf(config: ImageConfig): Platform {
  return { architecture: config.architecture, os: config.os, ...(config.variant === undefined ? {} : { variant: config.variant }) };
}
