import type { Digest } from "../oci/digest.js";
import type { ImageConfig } from "../oci/image-types.js";
import { isManifestMediaType } from "../oci/media-types.js";
import type { Store } from "../store/store.js";
import { hostPlatform, resolveImage, type ResolvedImage } from "./resolve-image.js";

/** One platform of an image the store holds. */
export interface ImagePlatform {
  /** `linux/arm64/v8`, as its config says. */
  platform: string;
  image: ResolvedImage;
}

/** `linux/arm/v7`, from what a config says. */
export function configPlatform(config: Pick<ImageConfig, "os" | "architecture" | "variant">): string {
  return [config.os, config.architecture, config.variant].filter((part) => part !== undefined && part !== "").join("/");
}

/**
 * The platforms the store holds of the image at `digest` (a manifest, or an index): for an
 * index, each of its manifests that is here, this host's first; for a manifest, its own.
 * Empty when nothing of it can be read.
 */
export async function imagePlatforms(store: Store, digest: Digest): Promise<ImagePlatform[]> {
  let parsed;
  try {
    parsed = await store.images.readManifest(digest);
  } catch {
    return []; // missing or broken: fsck reports it
  }
  const digests = parsed.kind === "manifest" ? [digest] : parsed.index.manifests.filter((entry) => isManifestMediaType(entry.mediaType)).map((entry) => entry.digest);
  const found: ImagePlatform[] = [];
  for (const manifest of digests) {
    if (!(await store.content.has(manifest))) continue; // a platform never pulled
    try {
      const image = await resolveImage(store, manifest, { fromContent: true });
      found.push({ platform: configPlatform(image.config), image });
    } catch {
      // A manifest whose config is missing: not a platform that can be used.
    }
  }
  const host = configPlatform(hostPlatform());
  return [...found.filter((entry) => entry.platform === host), ...found.filter((entry) => entry.platform !== host)];
}
