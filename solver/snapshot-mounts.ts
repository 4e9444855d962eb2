import { randomBytes } from "node:crypto";
import { mkdir, rm, rmdir } from "node:fs/promises";
import { join } from "node:path";
import { TsbuildError } from "../errors.js";
import { ownedByThisProcess } from "../snapshotter/reclaim-snapshots.js";
import type { Snapshotter } from "../snapshotter/types.js";

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
    // The mount point was made empty by #mount: one rmdir, unless something was left in it.
    await rmdir(entry.target).catch(() => rm(entry.target, { recursive: true, force: true }));
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
          await rm(entry.target, { recursive: true, force: true });
        }
        await this.#snapshotter.remove(entry.key);
      } catch (error) {
        first ??= error;
      }
    }
    if (first !== undefined) throw first;
  }

  async #mount(key: string): Promise<string> {
    const target = join(this.#tempDir, key);
    try {
      await mkdir(target, { recursive: true });
      await this.#snapshotter.mount(key, target);
    } catch (error) {
      await rm(target, { recursive: true, force: true }).catch(() => undefined);
      await this.#snapshotter.remove(key).catch(() => undefined);
      throw error;
    }
    this.#mounted.push({ key, target });
    return target;
  }
}
