import { TsbuildError } from "../errors.js";
import type { Descriptor, ImageIndex, Platform } from "../oci/image-types.js";
import { isManifestMediaType } from "../oci/media-types.js";
import { normalizePlatform } from "../frontend/platform.js";

/** `linux/arm64/v8` → a Platform, normalised as containerd does (`aarch64` is `arm64`, `x86_64` is `amd64`). */
export function parsePlatform(text: string): Platform {
  const [os, architecture, variant, ...rest] = text.split("/");
  if (os === undefined || os === "" || architecture === undefined || architecture === "" || variant === "" || rest.length > 0) {
    throw new TsbuildError("USAGE", `Cannot parse platform "${text}": expected OS/ARCH or OS/ARCH/VARIANT`, { hint: "For example --platform linux/amd64" });
  }
  return normalizePlatform(variant === undefined ? { os, architecture } : { os, architecture, variant });
}

/** `linux/arm64/v8`. */
export function formatPlatform(platform: Platform): string {
  return [platform.os, platform.architecture, platform.variant].filter((part) => part !== undefined && part !== "").join("/");
}

/**
 * The manifest of an index for `wanted`: os and architecture must match; a wanted variant
 * must match too, and without one an entry with no variant (or the first) is taken.
 * Attestation manifests (platform unknown/unknown) never match.
 */
export function selectPlatformManifest(index: ImageIndex, wanted: Platform, where: string): Descriptor {
  const candidates = index.manifests.filter(
    (entry) => isManifestMediaType(entry.mediaType) && entry.platform?.os === wanted.os && entry.platform.architecture === wanted.architecture,
  );
  const chosen =
    wanted.variant !== undefined
      ? candidates.find((entry) => entry.platform?.variant === wanted.variant)
      : (candidates.find((entry) => entry.platform?.variant === undefined) ?? candidates[0]);
  if (chosen === undefined) {
    const offered = index.manifests.flatMap((entry) => (entry.platform === undefined ? [] : [formatPlatform(entry.platform)])).filter((p) => p !== "unknown/unknown");
    throw new TsbuildError("NOT_FOUND", `Image "${where}" has no manifest for platform "${formatPlatform(wanted)}"`, {
      hint: offered.length > 0 ? `It has: ${offered.join(", ")}; choose one with --platform` : undefined,
    });
  }
  return chosen;
}
