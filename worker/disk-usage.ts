import { surveyLeftovers } from "./reclaim-leftovers.js";
import type { Worker } from "./worker.js";

/** One line of `system df`. */
export interface DiskUsageRow {
  type: "Images" | "Containers" | "Local Volumes" | "Build Cache" | "Build Scratch";
  total: number;
  active: number;
  size: number;
  reclaimable: number;
}

/**
 * docker's `system df`, from the store's accounting of blobs and records, plus one row
 * docker has no need for: the scratch state of tsbuild processes (sandboxes, active
 * snapshots, temp dirs), active while its process runs and reclaimable once it is gone.
 */
export async function diskUsage(worker: Worker): Promise<DiskUsageRow[]> {
  const usage = await worker.store.usage();
  const scratch = await surveyLeftovers(worker.root);
  const sum = (items: typeof scratch) => items.reduce((total, item) => total + item.size, 0);
  return [
    { type: "Images", total: usage.images.count, active: usage.images.active, size: usage.images.size, reclaimable: usage.images.reclaimable },
    {
      type: "Containers",
      total: usage.containers.count,
      active: usage.containers.running,
      size: usage.containers.size,
      reclaimable: usage.containers.reclaimable,
    },
    // tsbuild has no volume records yet.
    { type: "Local Volumes", total: 0, active: 0, size: 0, reclaimable: 0 },
    { type: "Build Cache", total: usage.cache.count, active: 0, size: usage.cache.size, reclaimable: usage.cache.reclaimable },
    {
      type: "Build Scratch",
      total: scratch.length,
      active: scratch.filter((item) => item.ownerAlive).length,
      size: sum(scratch),
      reclaimable: sum(scratch.filter((item) => !item.ownerAlive)),
    },
  ];
}
