import type { Digest } from "../oci/digest.js";
import { collectSnapshots } from "./snapshot-collector.js";
import type { Worker } from "./worker.js";

export interface PruneImagesOptions {
  /** Remove every image no container uses, not only dangling ones (docker's `-a`). */
  all?: boolean;
  /** Also remove build cache records. Default true. */
  cache?: boolean;
}

export interface PruneImagesResult {
  untagged: string[];
  deleted: Digest[];
  removedCache: string[];
  removedSnapshots: string[];
  /** Blob bytes freed plus the disk space of removed snapshots. */
  reclaimedBytes: number;
}

/**
 * docker's `image prune` with the build cache: removes dangling images (every unused one
 * with `all`) and cache records, then their blobs (grace 0, as for `rmi`: leases still
 * protect running builds) and the unpacked layers nothing holds any more.
 */
export async function pruneImages(worker: Worker, options: PruneImagesOptions = {}): Promise<PruneImagesResult> {
  const { result, collection } = await collectSnapshots(worker, {
    operation: (seam) => worker.store.prune({ ...seam, all: options.all === true, cache: options.cache !== false, graceMs: 0 }),
    reportOf: (report) => report.gc,
  });
  return {
    untagged: result.untagged,
    deleted: result.deleted.map((image) => image.id),
    removedCache: result.removedCache,
    removedSnapshots: collection.removedSnapshots,
    reclaimedBytes: result.gc.reclaimedBytes + collection.reclaimedBytes,
  };
}
