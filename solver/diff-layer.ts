import { diffCopyLayer } from "./incremental-copy.js";
import { storeSnapshotLayer } from "../worker/store-snapshot-layer.js";
import type { LayerRecord, Worker } from "./types.js";

/** A tar of no entries: two zero blocks. A step that changed nothing diffs to this. */
const EMPTY_TAR_SIZE = 1024;

/**
 * The layer of committed snapshot `snapshot`: its changes against its parent, stored as an
 * uncompressed tar (its digest is its diffID). Nothing is compressed on the build path: that
 * happens when the layer leaves the machine (worker/distributable-layer.ts).
 */
export async function diffLayer(worker: Worker, snapshot: string, options: { epoch?: number; signal?: AbortSignal; onProgress?: (tarBytes: number) => void }): Promise<LayerRecord> {
  const written =
    (await diffCopyLayer(worker, snapshot, options)) ??
    (await storeSnapshotLayer(worker.store, worker.snapshotter, snapshot, {
      sourceDateEpoch: options.epoch ?? null,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
    }));
  return {
    diffId: written.diffId,
    descriptor: { mediaType: written.mediaType, digest: written.digest, size: written.size },
    empty: written.uncompressedSize <= EMPTY_TAR_SIZE,
    ...(options.epoch === undefined ? {} : { epoch: options.epoch }),
  };
}
