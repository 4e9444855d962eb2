import type { Digest } from "../oci/digest.js";
import type { ResolvedImage } from "./resolve-image.js";

/**
 * Sizes of an image's layers as docker shows them: each layer's uncompressed size where
 * tsbuild noted it (see layer-sizes.ts), else the size of its blob.
 */
export function layerSizes(image: ResolvedImage, known: ReadonlyMap<Digest, number>): number[] {
  return image.manifest.layers.map((layer, i) => known.get(image.config.rootfs.diff_ids[i]) ?? layer.size);
}

/** An image's size: the sum of its layer sizes. */
export function imageSize(image: ResolvedImage, known: ReadonlyMap<Digest, number>): number {
  return layerSizes(image, known).reduce((sum, size) => sum + size, 0);
}
