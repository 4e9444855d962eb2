import { isTsbuildError } from "../errors.js";
import { isDigest } from "../oci/digest.js";
import { parseImageConfig } from "../oci/image-types.js";
import type { GcReport, SnapshotSeam } from "../store/garbage-collector.js";
import type { Snapshotter } from "../snapshotter/types.js";
import { dropLayerSizes } from "./layer-sizes.js";
import type { Worker } from "./worker.js";

/** What removing unreferenced snapshots did, besides the store's own report. */
export interface SnapshotCollection {
  removedSnapshots: string[];
  /** Bytes the removed snapshots used on disk. */
  reclaimedBytes: number;
  snapshotErrors: Array<{ key: string; message: string }>;
}

/**
 * Runs a store operation that collects garbage (`removeImage`, `prune`, `gc`) with the
 * snapshot seam, then removes the unpacked layers it reports unreferenced, all under one
 * hold of the store lock: an unpack takes a lease on its chain ids under that lock before
 * it looks for existing snapshots, so it never builds on one that is being removed.
 *
 * The seam lists only committed snapshots keyed by a chain id (this worker's unpacked
 * layers); active snapshots belong to containers and builds. Removal goes top layer first,
 * since a parent cannot go before its children; one still under an active snapshot stays
 * and is reported in `snapshotErrors`.
 */
export async function collectSnapshots<T>(
  worker: Worker,
  { operation, reportOf }: { operation: (seam: SnapshotSeam) => Promise<T>; reportOf: (result: T) => GcReport | undefined },
): Promise<{ result: T; collection: SnapshotCollection }> {
  const snapshotter = await worker.snapshotter();
  const store = worker.store;
  return store.withLock(async () => {
    const result = await operation({ listSnapshotKeys: () => chainSnapshotKeys(snapshotter) });
    const collection: SnapshotCollection = { removedSnapshots: [], reclaimedBytes: 0, snapshotErrors: [] };
    const report = reportOf(result);
    if (report !== undefined) {
      await removeSnapshots(snapshotter, report.unreferencedSnapshots, collection);
      report.removedSnapshots = collection.removedSnapshots;
      report.snapshotErrors = collection.snapshotErrors;
      await dropLayerSizes(store, await liveDiffIds(worker));
    }
    return { result, collection };
  });
}

async function chainSnapshotKeys(snapshotter: Snapshotter): Promise<string[]> {
  const keys: string[] = [];
  await snapshotter.walk((info) => {
    if (info.kind === "committed" && isDigest(info.key)) keys.push(info.key);
  });
  return keys;
}

async function removeSnapshots(snapshotter: Snapshotter, keys: string[], collection: SnapshotCollection): Promise<void> {
  const parents = new Map<string, string | undefined>();
  await snapshotter.walk((info) => {
    parents.set(info.key, info.parent);
  });
  const depth = (key: string): number => {
    let n = 0;
    for (let parent = parents.get(key); parent !== undefined; parent = parents.get(parent)) n++;
    return n;
  };
  const present = keys.filter((key) => parents.has(key)).sort((a, b) => depth(b) - depth(a));
  for (const key of present) {
    try {
      const usage = await snapshotter.usage(key).catch(() => ({ size: 0 }));
      await snapshotter.remove(key);
      collection.removedSnapshots.push(key);
      collection.reclaimedBytes += usage.size;
    } catch (error) {
      if (isTsbuildError(error, "NOT_FOUND")) continue;
      collection.snapshotErrors.push({ key, message: error instanceof Error ? error.message : String(error) });
    }
  }
}

/** The diff ids of every image in the store. */
async function liveDiffIds(worker: Worker): Promise<Set<string>> {
  const live = new Set<string>();
  const store = worker.store;
  for (const record of await store.images.records()) {
    const parsed = await store.images.readManifest(record.digest).catch(() => undefined);
    if (parsed === undefined) continue;
    const manifests = parsed.kind === "manifest" ? [parsed.manifest] : [];
    if (parsed.kind === "index") {
      for (const entry of parsed.index.manifests) {
        const child = await store.images.readManifest(entry.digest).catch(() => undefined);
        if (child?.kind === "manifest") manifests.push(child.manifest);
      }
    }
    for (const manifest of manifests) {
      try {
        for (const diffId of parseImageConfig(await store.content.read(manifest.config.digest)).rootfs.diff_ids) live.add(diffId);
      } catch {
        // A missing or broken config: fsck reports it.
      }
    }
  }
  return live;
}
