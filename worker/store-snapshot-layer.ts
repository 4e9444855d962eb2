import type { LayerCompression } from "../oci/layer-compression.js";
import type { LayerReuse, LayerWriteResult } from "../oci/layer-writer.js";
import type { Snapshotter } from "../snapshotter/types.js";
import type { Store } from "../store/store.js";
import { fromSystemError } from "../util/system-error.js";
import { recordLayerSize } from "./layer-sizes.js";

export interface StoreSnapshotLayerOptions {
  /** Default none: layers are kept uncompressed locally and compressed when they leave (distributable-layer.ts). */
  compression?: LayerCompression;
  /** Clamp mtimes to this time (seconds). Default: `SOURCE_DATE_EPOCH` of the environment; null disables it. */
  sourceDateEpoch?: number | null;
  signal?: AbortSignal;
  /** Entries to take from an earlier layer (see DiffOptions). */
  reuse?: LayerReuse;
  /** Return the index of the regular files' entries. */
  index?: boolean;
  /** Bytes of the layer's tar made so far, as it grows. */
  onProgress?: (tarBytes: number) => void;
}

/**
 * Writes the changes of snapshot `key` against its parent as a layer blob straight into the
 * content store's ingest file (no temp file), hashed once on the way by the layer writer, and
 * notes its uncompressed size for `images`.
 */
export async function storeSnapshotLayer(store: Store, snapshotter: Snapshotter, key: string, options: StoreSnapshotLayerOptions = {}): Promise<LayerWriteResult> {
  const ingest = await store.content.ingest();
  let written: LayerWriteResult;
  try {
    written = await snapshotter.diff(key, ingest.file, {
      compression: options.compression ?? "none",
      ...(options.sourceDateEpoch === undefined ? {} : { sourceDateEpoch: options.sourceDateEpoch }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      ...(options.reuse === undefined ? {} : { reuse: options.reuse }),
      ...(options.index === true ? { index: true } : {}),
      ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
    });
    await ingest.commit({ digest: written.digest, size: written.size });
  } catch (error) {
    await ingest.abort();
    // A full disk names the store, not the stream the diff was writing into.
    throw fromSystemError(error, `Cannot store a layer in "${store.paths.content}"`) ?? error;
  }
  await recordLayerSize(store, { diffId: written.diffId, size: written.uncompressedSize });
  return written;
}
