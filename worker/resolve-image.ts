import { TsbuildError } from "../errors.js";
import { isDigest, type Digest } from "../oci/digest.js";
import { parseReference } from "../oci/reference.js";
import {
  parseImageConfig,
  parseImageManifest,
  type Descriptor,
  type ImageConfig,
  type ImageManifest,
  type Platform,
} from "../oci/image-types.js";
import { hostPlatform } from "../oci/host-platform.js";
import { isManifestMediaType } from "../oci/media-types.js";
import type { ImageSummary } from "../store/image-store.js";
import type { Store } from "../store/store.js";

/** An image of the store with its manifest and config read and parsed. */
export interface ResolvedImage {
  summary: ImageSummary;
  /** The image manifest's digest (for a multi-platform image, the chosen platform's). */
  manifestDigest: Digest;
  manifestBytes: Buffer;
  manifest: ImageManifest;
  /** The image id. */
  configDigest: Digest;
  configBytes: Buffer;
  config: ImageConfig;
}

export interface ResolveImageOptions {
  /** For a multi-platform image: the platform to pick. Default: this host's. */
  platform?: Platform;
  /**
   * Also find `name@sha256:...` (or a bare manifest digest) that no record names any more
   * but whose blobs are still here: a build's lease holds its base image that way while an
   * `rmi` or `prune` untags it.
   */
  fromContent?: boolean;
}

export { hostPlatform };

/**
 * Finds an image by name, id, id prefix or digest and reads its manifest and config; for
 * an index, the manifest of the wanted platform that the store holds.
 */
export async function resolveImage(store: Store, text: string, options: ResolveImageOptions = {}): Promise<ResolvedImage> {
  const summary = options.fromContent ? ((await store.images.find(text)) ?? (await summaryFromContent(store, text))) : await store.images.get(text);
  let manifestDigest = summary.digest;
  let parsed = await store.images.readManifest(manifestDigest);
  if (parsed.kind === "index") {
    const wanted = options.platform ?? hostPlatform();
    const candidates: Descriptor[] = [];
    for (const entry of parsed.index.manifests) {
      if (isManifestMediaType(entry.mediaType) && (await store.content.has(entry.digest))) candidates.push(entry);
    }
    const chosen =
      candidates.find((entry) => entry.platform?.os === wanted.os && entry.platform.architecture === wanted.architecture) ??
      (options.platform === undefined && candidates.length === 1 ? candidates[0] : undefined);
    if (chosen === undefined) {
      throw new TsbuildError("NOT_FOUND", `Image "${text}" has no manifest for platform "${wanted.os}/${wanted.architecture}" in the store`);
    }
    manifestDigest = chosen.digest;
    parsed = await store.images.readManifest(manifestDigest);
  }
  if (parsed.kind !== "manifest") throw new TsbuildError("INVALID_ARCHIVE", `Image "${text}" is an index of indexes`);
  const manifestBytes = await store.content.read(manifestDigest);
  const manifest = parseImageManifest(manifestBytes, `manifest "${manifestDigest}"`);
  const configDigest = manifest.config.digest;
  const configBytes = await store.content.read(configDigest);
  const config = parseImageConfig(configBytes, `image config "${configDigest}"`);
  return { summary, manifestDigest, manifestBytes, manifest, configDigest, configBytes, config };
}

async function summaryFromContent(store: Store, text: string): Promise<ImageSummary> {
  const digest = text.startsWith("sha256:") ? text : parseReference(text).digest;
  const summary = digest === undefined || !isDigest(digest) ? undefined : await store.images.summarizeContent(digest);
  if (summary === undefined) throw new TsbuildError("NOT_FOUND", `No such image "${text}"`);
  return summary;
}
