import type { Digest } from "../oci/digest.js";
import type { Descriptor } from "../oci/image-types.js";
import { LayerReader } from "../oci/layer-reader.js";
import type { Store } from "../store/store.js";
import { recordLayerContentSize } from "./layer-sizes.js";
import type { ResolvedImage } from "./resolve-image.js";

/**
 * Sizes of an image's layers as docker counts them (its graph drivers' DiffSize): the bytes
 * of the files a layer holds, a symlink as long as its target, hard links once, directories,
 * whiteouts and devices nothing. A WORKDIR's layer is 0B; tar headers and padding count
 * for nothing. A size not noted yet is read from the layer blob once and noted (`known` is
 * updated); a layer whose blob the store lacks counts its compressed size.
 */
export async function layerSizes(store: Store, image: ResolvedImage, known: Map<Digest, number>): Promise<number[]> {
  const sizes: number[] = [];
  for (const [i, layer] of image.manifest.layers.entries()) {
    const diffId = image.config.rootfs.diff_ids[i];
    let size = known.get(diffId);
    if (size === undefined) {
      if (!(await store.content.has(layer.digest))) {
        sizes.push(layer.size);
        continue;
      }
      size = await layerContentSize(store, layer);
      // Noting it only saves reading the layer again: a store that cannot be written to
      // (mounted read-only, or full) still lists its images.
      await recordLayerContentSize(store, { diffId, size }).catch(() => undefined);
      known.set(diffId, size);
    }
    sizes.push(size);
  }
  return sizes;
}

/** An image's size: the sum of its layer sizes. */
export async function imageSize(store: Store, image: ResolvedImage, known: Map<Digest, number>): Promise<number> {
  return (await layerSizes(store, image, known)).reduce((sum, size) => sum + size, 0);
}

/** The content size of one layer blob, from its tar headers (file bodies are skipped, not read into memory). */
export async function layerContentSize(store: Store, layer: Descriptor): Promise<number> {
  const reader = new LayerReader(await store.content.openStream(layer.digest));
  let size = 0;
  for await (const entry of reader.entries()) {
    if (entry.type === "file") size += entry.size;
    else if (entry.type === "symlink") size += Buffer.byteLength(entry.linkpath);
  }
  return size;
}
