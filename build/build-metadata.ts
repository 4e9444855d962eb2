import type { BuildResult } from "./build.js";

/**
 * buildx's `--metadata-file` JSON for a build: the image's config digest, manifest
 * descriptor and digest, and its names, under buildx's keys.
 */
export function buildMetadata(result: BuildResult): Record<string, unknown> {
  // Pushed, the image is known by the manifest the registry got (its layers compressed), as BuildKit reports it.
  const pushed = result.pushed?.[0];
  const descriptor = pushed === undefined ? result.manifest : { mediaType: result.manifest.mediaType, digest: pushed.digest, size: pushed.size };
  return {
    "containerimage.config.digest": result.imageId,
    "containerimage.descriptor": { mediaType: descriptor.mediaType, digest: descriptor.digest, size: descriptor.size },
    "containerimage.digest": descriptor.digest,
    ...(result.names.length > 0 ? { "image.name": result.names.join(",") } : {}),
  };
}
