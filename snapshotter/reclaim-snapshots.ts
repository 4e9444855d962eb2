import { readdir, rm, rmdir } from "node:fs/promises";
import { join } from "node:path";
import { currentProcess, formatProcessToken, isProcessAlive, parseProcessToken } from "../store/process-identity.js";
import { crashPoint } from "../util/crash-point.js";
import { isMissing } from "../util/stat-if-exists.js";
import { listMountPoints, unmountBeneath } from "./mount-table.js";
import { SnapshotMetadata, type SnapshotTable } from "./snapshot-metadata.js";

/**
 * Snapshots that belong to one process's work (a build step's writable root and its views)
 * carry this label with the process's `<pid>-<start>`. A process killed mid-step leaves
 * them active and mounted; the next tsbuild sees the owner is gone and reclaims them, as
 * containerd's garbage collector drops the snapshots of an expired lease. Snapshots without
 * the label (a container's rootfs) outlive their creator on purpose and are never reclaimed.
 */
export const SNAPSHOT_OWNER_LABEL = "tsbuild.owner";

/** Labels that make a snapshot this process's, to reclaim when it dies. */
export function ownedByThisProcess(): Record<string, string> {
  return { [SNAPSHOT_OWNER_LABEL]: formatProcessToken(currentProcess()) };
}

/** What `reclaimSnapshots` removed. */
export interface SnapshotReclaim {
  /** Active snapshots and views of dead processes, by key. */
  snapshots: string[];
  /** Mount points of those snapshots that were still mounted. */
  mounts: string[];
  /** Directory numbers no snapshot owns (a process killed while creating one). */
  orphans: number[];
}

/**
 * Removes what dead processes left in `<root>/snapshots`: their active snapshots and views
 * (unmounted first, then their mount-point directories and snapshot directories), directories
 * reserved by a dead process, and records of mounts that are gone. Work of live processes
 * is never touched. Cheap when there is nothing to do: one read of the table and the mount
 * table, one directory listing.
 */
export async function reclaimSnapshots(snapshotsDir: string, mounted?: ReadonlySet<string>): Promise<SnapshotReclaim> {
  const metadata = new SnapshotMetadata(snapshotsDir);
  const report: SnapshotReclaim = { snapshots: [], mounts: [], orphans: [] };
  let names: string[];
  try {
    names = await readdir(snapshotsDir);
  } catch (error) {
    if (isMissing(error)) return report;
    throw error;
  }
  let points = mounted ?? (await listMountPoints());
  const before = await metadata.read();
  const victims = Object.keys(before.snapshots).filter((key) => isDeadOwners(before, key));
  // Unmount before forgetting: a mount nobody records is one nobody would ever undo.
  const targets = Object.keys(before.mounts).filter((target) => victims.includes(before.mounts[target]));
  for (const target of targets) {
    if (!points.has(target)) continue;
    report.mounts.push(...(await unmountBeneath(target, points)));
    crashPoint("reclaim.unmounted");
  }
  if (report.mounts.length > 0) points = await listMountPoints();
  for (const target of targets) {
    // An empty mount point of a step; rmdir, not rm -r, so a mount that would not go is never emptied through.
    await rmdir(target).catch(() => undefined); // gone already, or still busy: the staging clean-up retries
  }
  const live = points;
  if (!needsUpdate(before, names, victims, live)) return report;
  const dirs = await metadata.update((table) => {
    const removed: number[] = [];
    for (const key of victims) {
      const record = table.snapshots[key];
      if (record === undefined || !isDeadOwners(table, key)) continue;
      delete table.snapshots[key];
      removed.push(record.id);
      report.snapshots.push(key);
    }
    for (const target of Object.keys(table.mounts)) {
      if (!live.has(target) || table.snapshots[table.mounts[target]] === undefined) delete table.mounts[target];
    }
    const inUse = new Set(Object.values(table.snapshots).map((record) => String(record.id)));
    for (const [id, owner] of Object.entries(table.reserved)) {
      if (isProcessAlive(owner)) inUse.add(id);
      else delete table.reserved[id];
    }
    const orphans = names.filter((name) => /^\d+$/.test(name) && !inUse.has(name) && !removed.includes(Number(name))).map(Number);
    report.orphans.push(...orphans);
    return [...removed, ...orphans];
  });
  for (const id of dirs) {
    const dir = join(snapshotsDir, String(id));
    // A process killed while applying may have left its lower view mounted inside.
    await unmountBeneath(dir, live);
    await rm(dir, { recursive: true, force: true });
  }
  report.orphans.sort((a, b) => a - b);
  return report;
}

/** Whether the table has anything to drop: the common case, nothing, then costs no lock and no write. */
function needsUpdate(table: SnapshotTable, names: string[], victims: string[], live: ReadonlySet<string>): boolean {
  if (victims.length > 0) return true;
  if (Object.keys(table.mounts).some((target) => !live.has(target))) return true;
  if (Object.values(table.reserved).some((owner) => !isProcessAlive(owner))) return true;
  const known = new Set([...Object.values(table.snapshots).map((record) => String(record.id)), ...Object.keys(table.reserved)]);
  return names.some((name) => /^\d+$/.test(name) && !known.has(name));
}

/** True for an active snapshot or view whose owner label names a process that is gone. */
function isDeadOwners(table: SnapshotTable, key: string): boolean {
  const record = table.snapshots[key];
  if (record === undefined || record.kind === "committed") return false;
  const owner = parseProcessToken(record.labels[SNAPSHOT_OWNER_LABEL] ?? "");
  return owner !== undefined && !isProcessAlive(owner);
}
