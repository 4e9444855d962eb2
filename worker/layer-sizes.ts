import type { Digest } from "../oci/digest.js";
import type { Store } from "../store/store.js";

/**
 * The ref kind of layer size records. A layer's uncompressed size is known only while it is
 * written or unpacked, and no OCI document states it; docker lists image sizes unpacked, so
 * tsbuild notes each layer's size by diff id in a record that holds nothing (no blobs, no
 * snapshots: it is no GC root) and is dropped once no image has the layer.
 */
export const LAYER_SIZE_REF_KIND = "layer-size";
const SIZE_LABEL = "tsbuild.uncompressed-size";

/** Notes the uncompressed size of the layer `diffId`. */
export async function recordLayerSize(store: Store, { diffId, size }: { diffId: Digest; size: number }): Promise<void> {
  const existing = await store.refs.get(LAYER_SIZE_REF_KIND, diffId);
  if (existing?.labels?.[SIZE_LABEL] === String(size)) return;
  await store.refs.put(LAYER_SIZE_REF_KIND, diffId, { labels: { [SIZE_LABEL]: String(size) }, durable: false });
}

/** Every noted uncompressed layer size, by diff id. */
export async function readLayerSizes(store: Store): Promise<Map<Digest, number>> {
  const sizes = new Map<Digest, number>();
  for (const record of await store.refs.list(LAYER_SIZE_REF_KIND)) {
    const size = Number(record.labels?.[SIZE_LABEL]);
    if (Number.isSafeInteger(size) && size >= 0) sizes.set(record.id as Digest, size);
  }
  return sizes;
}

/** Drops the size records of layers no image in `liveDiffIds` has. */
export async function dropLayerSizes(store: Store, liveDiffIds: ReadonlySet<string>): Promise<void> {
  for (const record of await store.refs.list(LAYER_SIZE_REF_KIND)) {
    if (!liveDiffIds.has(record.id)) await store.refs.remove(LAYER_SIZE_REF_KIND, record.id);
  }
}
