import type { FsckOptions, FsckReport } from "../store/check-store.js";
import { surveyLeftovers, type Leftover, type ReclaimReport } from "./reclaim-leftovers.js";
import type { Worker } from "./worker.js";

export interface WorkerFsckReport {
  ok: boolean;
  store: FsckReport;
  /** Committed snapshots whose parent snapshot is gone. */
  orphanSnapshots: Array<{ key: string; parent: string }>;
  /** What opening the root took back from dead processes before the check. */
  reclaimed: ReclaimReport | undefined;
  /** Leftovers of dead processes that the reclaim could not remove. */
  leftovers: Leftover[];
  /** Every problem, one line each, for people. */
  problems: string[];
}

/**
 * Verifies the root: every blob re-hashed, every image record and ref record resolved
 * (store/check-store.ts), every snapshot's parent present, and nothing of a dead process left
 * (mounts, sandboxes, active snapshots, temp dirs): opening the root reclaims those, so one
 * still there is one that could not be removed. Reports; repairs nothing else.
 */
export async function fsck(worker: Worker, options: FsckOptions = {}): Promise<WorkerFsckReport> {
  const store = await worker.store.fsck(options);
  const problems: string[] = [];
  for (const blob of store.blobs.corrupt) problems.push(`blob ${blob.digest}: content has digest ${blob.actual}`);
  for (const image of store.images.broken) problems.push(`image ${image.name ?? image.digest}: ${image.reason}${image.missing.length > 0 ? ` (${image.missing.join(", ")})` : ""}`);
  for (const ref of store.refs.broken) problems.push(`ref ${ref.kind}/${ref.id}: missing ${ref.missing.join(", ")}`);
  for (const ref of store.refs.unreadable) problems.push(`ref ${ref.kind}/${ref.id}: ${ref.reason}`);

  const orphanSnapshots: WorkerFsckReport["orphanSnapshots"] = [];
  const snapshotter = await worker.snapshotter();
  const keys = new Set<string>();
  const parents: Array<{ key: string; parent: string }> = [];
  await snapshotter.walk((info) => {
    keys.add(info.key);
    if (info.parent !== undefined) parents.push({ key: info.key, parent: info.parent });
  });
  for (const entry of parents) {
    if (keys.has(entry.parent)) continue;
    orphanSnapshots.push(entry);
    problems.push(`snapshot ${entry.key}: parent ${entry.parent} is missing`);
  }
  const leftovers = (await surveyLeftovers(worker.root)).filter((item) => !item.ownerAlive);
  for (const item of leftovers) problems.push(`${item.kind} ${item.name}: left by a dead process and not reclaimed`);
  return { ok: store.ok && orphanSnapshots.length === 0 && leftovers.length === 0, store, orphanSnapshots, reclaimed: worker.reclaimed, leftovers, problems };
}
