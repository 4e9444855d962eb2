import type { BuildResult } from "./build.js";

/**
 * buildx's `--metadata-file` JSON for a build: the image's config digest, manifest
 * descriptor and digest, and its names, under buildx's keys.
 */
export function buildMetadata(result: BuildResult): Record<string, unknown> {
  return {
    "containerimage.config.digest": result.imageId,
    "containerimage.descriptor": { mediaType: result.manifest.mediaType, digest: result.manifest.digest, size: result.manifest.size },
    "containerimage.digest": result.manifestDigest,
    ...(result.names.length > 0 ? { "image.name": result.names.join(",") } : {}),
  };
}
