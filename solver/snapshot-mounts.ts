import { randomBytes } from "node:crypto";
import { readdirSync } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { TsbuildError } from "../errors.js";
import { ownedByThisProcess } from "../snapshotter/reclaim-snapshots.js";
import type { Snapshotter } from "../snapshotter/types.js";

/**
 * Empty mount points of each staging directory, left by earlier steps for the next mount
 * there. Making and removing a directory a mount costs more than the mount on a disk mounted
 * with `discard` (removing a directory waits for the device to discard its block); they go
 * when the build ends (`removeIdleMountPoints`).
 */
const idleMountPoints = new Map<string, string[]>();

/** Removes the idle mount points of a staging directory, whose steps are all done. */
export async function removeIdleMountPoints(tempDir: string): Promise<void> {
  const idle = idleMountPoints.get(tempDir) ?? [];
  idleMountPoints.delete(tempDir);
  await Promise.all(idle.map((target) => rm(target, { recursive: true, force: true })));
}

/**
 * The snapshots one step prepares and mounts (its writable root, read-only views of other
 * inputs), released together: whatever happens to the step, nothing stays mounted.
 */
export class SnapshotMounts {
  readonly #snapshotter: Snapshotter;
  readonly #tempDir: string;
  /** Mounted targets and the keys to remove afterwards, in creation order. */
  readonly #mounted: Array<{ key: string; target: string; unmounted?: boolean }> = [];

  constructor(snapshotter: Snapshotter, tempDir: string) {
    this.#snapshotter = snapshotter;
    this.#tempDir = tempDir;
  }

  /** Prepares a writable snapshot over `parent` (nothing for an empty tree) and mounts it. */
  async active(parent: string | undefined): Promise<{ key: string; path: string }> {
    const key = `build-${randomBytes(8).toString("hex")}`;
    await this.#snapshotter.prepare(key, parent, { labels: ownedByThisProcess() });
    return { key, path: await this.#mount(key) };
  }

  /** A read-only view of the committed snapshot `parent`, mounted. */
  async view(parent: string): Promise<string> {
    const key = `view-${randomBytes(8).toString("hex")}`;
    await this.#snapshotter.view(key, parent, { labels: ownedByThisProcess() });
    return this.#mount(key);
  }

  /** Unmounts the active snapshot `key` (its changes directory may then be written directly), keeping it for commit or release. */
  async unmount(key: string): Promise<void> {
    const entry = this.#entry(key, "unmount");
    if (entry.unmounted) return;
    await this.#snapshotter.unmount(entry.target);
    entry.unmounted = true;
    await this.#giveBack(entry.target);
  }

  /** Unmounts the active snapshot `key` and commits it as `name`; after a failure it may be tried again under another name. */
  async commit(key: string, name: string): Promise<void> {
    const entry = this.#entry(key, "commit");
    await this.unmount(key);
    await this.#snapshotter.commit(name, key);
    this.#mounted.splice(this.#mounted.indexOf(entry), 1);
  }

  #entry(key: string, what: string): { key: string; target: string; unmounted?: boolean } {
    const entry = this.#mounted.find((m) => m.key === key);
    if (entry === undefined) throw new TsbuildError("INTERNAL", `Cannot ${what} snapshot "${key}": this step did not prepare it`);
    return entry;
  }

  /** Unmounts and removes everything not committed, last first. Best effort after the first error. */
  async release(): Promise<void> {
    let first: unknown;
    for (const entry of this.#mounted.splice(0).reverse()) {
      try {
        if (!entry.unmounted) {
          await this.#snapshotter.unmount(entry.target);
          await this.#giveBack(entry.target);
        }
        await this.#snapshotter.remove(entry.key);
      } catch (error) {
        first ??= error;
      }
    }
    if (first !== undefined) throw first;
  }

  async #mount(key: string): Promise<string> {
    const idle = idleMountPoints.get(this.#tempDir);
    const reused = idle?.pop();
    if (idle?.length === 0) idleMountPoints.delete(this.#tempDir);
    const target = reused ?? join(this.#tempDir, `mnt-${randomBytes(8).toString("hex")}`);
    try {
      if (reused === undefined) await mkdir(target, { recursive: true });
      await this.#snapshotter.mount(key, target);
    } catch (error) {
      await rm(target, { recursive: true, force: true }).catch(() => undefined);
      await this.#snapshotter.remove(key).catch(() => undefined);
      throw error;
    }
    this.#mounted.push({ key, target });
    return target;
  }

  /** An unmounted mount point: kept for the next mount when it is empty, as #mount left it; removed otherwise. */
  async #giveBack(target: string): Promise<void> {
    let empty = false;
    try {
      empty = readdirSync(target).length === 0;
    } catch {
      return; // gone already: nothing to keep or remove
    }
    if (!empty) return rm(target, { recursive: true, force: true });
    const idle = idleMountPoints.get(this.#tempDir);
    if (idle === undefined) idleMountPoints.set(this.#tempDir, [target]);
    else idle.push(target);
  }
}
