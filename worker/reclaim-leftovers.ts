import type { BigIntStats } from "node:fs";
import { lstat, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { runtimeStateRoot } from "../executor/rootless-mode.js";
import { isDeadSandbox, reclaimSandboxes, SANDBOX_PREFIX } from "../executor/reclaim-sandboxes.js";
import { listMountPoints, unmountBeneath } from "../snapshotter/mount-table.js";
import { reclaimSnapshots, SNAPSHOT_OWNER_LABEL } from "../snapshotter/reclaim-snapshots.js";
import { SnapshotMetadata } from "../snapshotter/snapshot-metadata.js";
import { isProcessAlive, parseProcessToken, type ProcessIdentity } from "../store/process-identity.js";
import { COMMANDS_TEMP_KIND } from "../util/command-server.js";
import { kindOfTempDir, ownerOfTempDir } from "../util/owned-temp-dir.js";
import { isMissing, lstatIfExists, readdirIfExists } from "../util/stat-if-exists.js";
import { stagingRoot } from "./staging-dir.js";

/**
 * What a killed tsbuild leaves, and how the next one takes it back. A daemonless engine has
 * no daemon to clean up after a crash, so every command that opens a root does it, under the
 * store lock: sandboxes (runtime containers, bundles with their secrets' tmpfs), the active
 * snapshots and views of build steps (unmounted first), staging directories under
 * `<root>/tmp` and owned temporary directories in $TMPDIR (ssh sockets, archives). Dead
 * leases go with the store's own repair (store/store.ts). Everything is recognised by the
 * `<pid>-<start>` of its owner, so the work of live processes is never touched.
 */

/** What `reclaimLeftovers` removed. */
export interface ReclaimReport {
  /** Runtime containers of dead RUN steps, killed and deleted. */
  containers: string[];
  /** Their bundles (runtime config, scratch copies, the secrets' tmpfs). */
  bundles: string[];
  /** Active snapshots and views of dead processes. */
  snapshots: string[];
  /** Snapshot directories no snapshot owned. */
  orphanSnapshotDirs: number[];
  /** Every mount point taken down. */
  mounts: string[];
  /** Staging directories under `<root>/tmp` and owned temporary directories in $TMPDIR. */
  tempDirs: string[];
}

export interface ReclaimOptions {
  /** Where owned temporary directories are looked for. Default: the OS temp dir ($TMPDIR). */
  tempDir?: string;
}

/** Removes what dead tsbuild processes left in `root` (and in $TMPDIR). The caller holds the store lock. */
export async function reclaimLeftovers(root: string, options: ReclaimOptions = {}): Promise<ReclaimReport> {
  // The dead directories are looked for while sandboxes and snapshots (in that order: a
  // sandbox may run on a snapshot) are reclaimed; every command pays for these scans.
  const dead = Promise.all([deadDirs(stagingRoot(root), parseProcessToken, true), deadDirs(options.tempDir ?? tmpdir(), ownerOfTempDir, false)]);
  dead.catch(() => undefined); // awaited below, after the reclaims (whose failure comes first)
  const mounted = await listMountPoints();
  const sandboxes = await reclaimSandboxes({ workDir: join(root, "executor"), stateRoot: runtimeStateRoot(root), mounted });
  const snapshots = await reclaimSnapshots(join(root, "snapshots"), mounted);
  const report: ReclaimReport = {
    containers: sandboxes.containers,
    bundles: sandboxes.bundles,
    snapshots: snapshots.snapshots,
    orphanSnapshotDirs: snapshots.orphans,
    mounts: [...snapshots.mounts],
    tempDirs: [],
  };
  const changed = sandboxes.bundles.length + snapshots.mounts.length > 0 ? await listMountPoints() : mounted;
  // `<root>/tmp` holds staging directories only: a name without an owner is debris too.
  const [staging, temps] = await dead;
  for (const dir of [...staging, ...(await ownDirs(temps))]) {
    report.mounts.push(...(await unmountBeneath(dir, changed)));
    await rm(dir, { recursive: true, force: true });
    report.tempDirs.push(dir);
  }
  return report;
}

/** True when the report names nothing. */
export function isEmptyReclaim(report: ReclaimReport): boolean {
  return Object.values(report).every((list: unknown[]) => list.length === 0);
}

/** One thing a tsbuild process has in flight, or a dead one left. */
export interface Leftover {
  kind: "sandbox" | "snapshot" | "temp-dir";
  /** A path, or a snapshot key. */
  name: string;
  /** False when the owner is gone: a leftover the next reclaim removes. */
  ownerAlive: boolean;
  /** Bytes on disk (not counting what is mounted inside). */
  size: number;
}

/**
 * The scratch state of tsbuild processes in a root, without changing anything: for `system
 * df` (what running builds hold) and `fsck` (what a reclaim could not remove).
 */
export async function surveyLeftovers(root: string, options: ReclaimOptions = {}): Promise<Leftover[]> {
  const found: Leftover[] = [];
  const executor = join(root, "executor");
  for (const name of (await readdirIfExists(executor)) ?? []) {
    if (!name.startsWith(SANDBOX_PREFIX)) continue;
    found.push({ kind: "sandbox", name: join(executor, name), ownerAlive: !isDeadSandbox(name), size: await sizeOnDisk(join(executor, name)) });
  }
  const snapshotsDir = join(root, "snapshots");
  const records = (await readdirIfExists(snapshotsDir)) === undefined ? [] : await new SnapshotMetadata(snapshotsDir).list();
  for (const record of records) {
    const owner = parseProcessToken(record.labels[SNAPSHOT_OWNER_LABEL] ?? "");
    if (record.kind === "committed" || owner === undefined) continue;
    found.push({ kind: "snapshot", name: record.key, ownerAlive: isProcessAlive(owner), size: await sizeOnDisk(join(snapshotsDir, String(record.id))) });
  }
  for (const [parent, ownerOf] of [
    [stagingRoot(root), parseProcessToken],
    [options.tempDir ?? tmpdir(), ownerOfTempDir],
  ] as const) {
    const names = (await readdirIfExists(parent)) ?? [];
    const own = parent === stagingRoot(root) ? names : (await ownDirs(names.map((name) => join(parent, name)))).map((path) => basename(path));
    for (const name of own) {
      const owner = ownerOf(name);
      if (owner === undefined) continue;
      const ownerAlive = isProcessAlive(owner);
      // A live process's command shell dir (util/command-server.ts) holds no build's data: not scratch.
      if (ownerAlive && kindOfTempDir(name) === COMMANDS_TEMP_KIND) continue;
      found.push({ kind: "temp-dir", name: join(parent, name), ownerAlive, size: await sizeOnDisk(join(parent, name)) });
    }
  }
  return found;
}

/** The entries of `parent` whose names name an owner that is gone (or no owner, given `unownedIsDead`). */
async function deadDirs(parent: string, ownerOf: (name: string) => ProcessIdentity | undefined, unownedIsDead: boolean): Promise<string[]> {
  const names = (await readdirIfExists(parent)) ?? [];
  return names
    .filter((name) => {
      const owner = ownerOf(name);
      return owner === undefined ? unownedIsDead : !isProcessAlive(owner);
    })
    .map((name) => join(parent, name));
}

/**
 * The directories of `paths` that belong to this process's user. $TMPDIR is shared with other
 * users' tsbuilds, rootful and rootless; what they leave is theirs to take back (a rootless
 * one could not remove root's, and root must not take a user's).
 */
async function ownDirs(paths: string[]): Promise<string[]> {
  const uid = process.geteuid?.();
  const own: string[] = [];
  for (const path of paths) if ((await lstatIfExists(path))?.uid === uid) own.push(path);
  return own;
}

/** Bytes allocated under `path` on its own file system (a mount inside is another's), hard links once. */
async function sizeOnDisk(path: string): Promise<number> {
  const seen = new Set<bigint>();
  let total = 0;
  const visit = async (file: string, device: bigint | undefined): Promise<void> => {
    let info: BigIntStats;
    try {
      info = await lstat(file, { bigint: true });
    } catch (error) {
      if (isMissing(error)) return; // removed while we counted: its owner is still at work
      throw error;
    }
    if ((device !== undefined && info.dev !== device) || seen.has(info.ino)) return;
    seen.add(info.ino);
    total += Number(info.blocks) * 512;
    if (!info.isDirectory()) return;
    let names: string[];
    try {
      names = await readdir(file);
    } catch (error) {
      if (isMissing(error)) return;
      throw error;
    }
    for (const name of names) await visit(join(file, name), info.dev);
  };
  await visit(path, undefined);
  return total;
}
