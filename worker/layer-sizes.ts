import type { Digest } from "../oci/digest.js";
import type { Store } from "../store/store.js";

/**
 * The ref kind of layer size records. No OCI document states a layer's unpacked size, and
 * docker lists images by it, so tsbuild notes sizes by diff id in a record that holds
 * nothing (no blobs, no snapshots: it is no GC root) and is dropped once no image has the
 * layer. Two sizes: the tar's bytes, noted when a layer is written or unpacked, and the
 * content docker counts (see image-size.ts), noted the first time an image is listed.
 */
export const LAYER_SIZE_REF_KIND = "layer-size";
const SIZE_LABEL = "tsbuild.uncompressed-size";
const CONTENT_LABEL = "tsbuild.content-size";

/** Notes the uncompressed (tar) size of the layer `diffId`. */
export async function recordLayerSize(store: Store, { diffId, size }: { diffId: Digest; size: number }): Promise<void> {
  await setLabel(store, diffId, SIZE_LABEL, size);
}

/** Notes the content size of the layer `diffId`, as docker counts it. */
export async function recordLayerContentSize(store: Store, { diffId, size }: { diffId: Digest; size: number }): Promise<void> {
  await setLabel(store, diffId, CONTENT_LABEL, size);
}

async function setLabel(store: Store, diffId: Digest, label: string, size: number): Promise<void> {
  const existing = await store.refs.get(LAYER_SIZE_REF_KIND, diffId);
  if (existing?.labels?.[label] === String(size)) return;
  // A size can be measured again: not worth an fsync.
  await store.refs.put(LAYER_SIZE_REF_KIND, diffId, { labels: { ...existing?.labels, [label]: String(size) }, durable: false });
}

/** Every noted content size (docker's), by diff id. */
export async function readLayerSizes(store: Store): Promise<Map<Digest, number>> {
  const sizes = new Map<Digest, number>();
  for (const record of await store.refs.list(LAYER_SIZE_REF_KIND)) {
    const size = Number(record.labels?.[CONTENT_LABEL] ?? NaN);
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
