import { readdir, rm, rmdir } from "node:fs/promises";
import { join } from "node:path";
import { currentProcess, formatProcessToken, isProcessAlive, parseProcessToken } from "../store/process-identity.js";
import { crashPoint } from "../util/crash-point.js";
import { isMissing } from "../util/stat-if-exists.js";
import { listMountPoints, unmountBeneath } from "./mount-table.js";
import { SnapshotMetadata, type SnapshotRecord } from "./snapshot-metadata.js";

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
 * is never touched. Cheap when there is nothing to do: only a process that made snapshots
 * (a writer) can leave any, so with no dead writer it is a read of the mount records.
 */
export async function reclaimSnapshots(snapshotsDir: string, mounted?: ReadonlySet<string>): Promise<SnapshotReclaim> {
  const report: SnapshotReclaim = { snapshots: [], mounts: [], orphans: [] };
  try {
    await readdir(snapshotsDir);
  } catch (error) {
    if (isMissing(error)) return report;
    throw error;
  }
  const metadata = new SnapshotMetadata(snapshotsDir);
  let points = mounted ?? (await listMountPoints());
  if ((await metadata.deadWriters()).length > 0) {
    const victims = (await metadata.list()).filter(isDeadOwners);
    const keys = new Set(victims.map((record) => record.key));
    const targets = [...(await metadata.listMounts())].filter(([, key]) => keys.has(key)).map(([target]) => target);
    // Unmount before forgetting: a mount nobody records is one nobody would ever undo.
    for (const target of targets) {
      if (!points.has(target)) continue;
      report.mounts.push(...(await unmountBeneath(target, points)));
      crashPoint("reclaim.unmounted");
    }
    if (report.mounts.length > 0) points = await listMountPoints();
    for (const target of targets) {
      // An empty mount point of a step; rmdir, not rm -r, so a mount that would not go is never emptied through.
      await rmdir(target).catch(() => undefined); // gone already, or still busy: the staging clean-up retries
      await metadata.removeMount(target);
    }
    for (const record of victims) {
      const dir = join(snapshotsDir, String(record.id));
      // A process killed while applying may have left its lower view mounted inside.
      await unmountBeneath(dir, points);
      await metadata.remove(record.key);
      await rm(dir, { recursive: true, force: true });
      report.snapshots.push(record.key);
    }
  }
  // Mount records that are gone, and directories reserved by dead processes.
  const { orphans } = await metadata.cleanup(new Set(points));
  for (const name of orphans) {
    const dir = join(snapshotsDir, name);
    await unmountBeneath(dir, points);
    await rm(dir, { recursive: true, force: true });
    report.orphans.push(Number(name));
  }
  report.orphans.sort((a, b) => a - b);
  return report;
}

/** True for an active snapshot or view whose owner label names a process that is gone. */
function isDeadOwners(record: SnapshotRecord): boolean {
  if (record.kind === "committed") return false;
  const owner = parseProcessToken(record.labels[SNAPSHOT_OWNER_LABEL] ?? "");
  return owner !== undefined && !isProcessAlive(owner);
}
