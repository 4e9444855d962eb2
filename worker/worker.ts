import { access, readdir } from "node:fs/promises";
import { join } from "node:path";
import { TsbuildError } from "../errors.js";
import { createSnapshotter } from "../snapshotter/create-snapshotter.js";
import type { Snapshotter, SnapshotterName } from "../snapshotter/types.js";
import { checkRootIdMapping } from "../store/root-id-mapping.js";
import { openStore, type Store } from "../store/store.js";
import { reclaimLeftovers, type ReclaimReport } from "./reclaim-leftovers.js";

export interface OpenWorkerOptions {
  /** `--root`; else $TSBUILD_ROOT, else /var/lib/tsbuild as root (see store/resolve-root.ts). */
  root?: string;
  /** The environment to resolve the root from. Default: process.env. */
  env?: Record<string, string | undefined>;
  /**
   * The snapshotter implementation; default: probe (overlayfs when it mounts on the root).
   * One root must keep one implementation, so callers that know it should say so.
   */
  snapshotter?: SnapshotterName;
  /** Give up waiting for the store lock after this long (IN_USE). Default: wait. */
  lockTimeoutMs?: number;
}

/**
 * The composition root of one tsbuild root, like BuildKit's worker: the store (blobs,
 * image records, GC roots) and the snapshotter (unpacked layers), joined by the image
 * operations in this folder. The snapshotter is created on first use, since probing
 * overlayfs mounts something and most image commands never need a snapshot.
 */
export class Worker {
  readonly root: string;
  readonly store: Store;
  /** What opening the root reclaimed from dead processes (for `fsck`); empty when the worker was made directly. */
  readonly reclaimed: ReclaimReport | undefined;
  readonly #implementation: SnapshotterName | undefined;
  #snapshotter: Promise<Snapshotter> | undefined;

  constructor(store: Store, options: { snapshotter?: SnapshotterName; reclaimed?: ReclaimReport } = {}) {
    this.store = store;
    this.root = store.root;
    this.#implementation = options.snapshotter;
    this.reclaimed = options.reclaimed;
  }

  /** The root's snapshotter; a first call also removes what killed processes left in it. */
  async snapshotter(): Promise<Snapshotter> {
    this.#snapshotter ??= (async () => {
      const inUse = await implementationInUse(this.root);
      // fuse-overlayfs mounts the overlay snapshotter's layers: one layout, either mount.
      const layout = (name: SnapshotterName) => (name === "native" ? "native" : "overlayfs");
      if (inUse !== undefined && this.#implementation !== undefined && layout(inUse) !== layout(this.#implementation)) {
        throw new TsbuildError("CONFLICT", `Cannot use the ${this.#implementation} snapshotter on root "${this.root}": its snapshots were made by ${inUse}`, {
          hint: `Use ${inUse} for this root, or another root`,
        });
      }
      const implementation = this.#implementation ?? inUse;
      const snapshotter = await createSnapshotter(this.root, implementation === undefined ? {} : { implementation });
      if (!this.store.readOnly) await snapshotter.cleanup();
      return snapshotter;
    })();
    return this.#snapshotter;
  }
}

/**
 * The implementation whose snapshots a root already holds: overlay snapshots have a `work`
 * directory beside `fs`, native ones do not. A root must keep its implementation (overlay
 * over native full copies would resurrect deleted files), and knowing it spares the probe,
 * which mounts something a killed process would leave behind. Undefined for a fresh root.
 */
async function implementationInUse(root: string): Promise<SnapshotterName | undefined> {
  const snapshots = join(root, "snapshots");
  const names = await readdir(snapshots).catch(() => [] as string[]);
  // Views have no `fs` of their own; any other snapshot directory tells.
  for (const name of names.filter((n) => /^\d+$/.test(n))) {
    const has = (part: string) =>
      access(join(snapshots, name, part)).then(
        () => true,
        () => false,
      );
    if (!(await has("fs"))) continue;
    return (await has("work")) ? "overlayfs" : "native";
  }
  return undefined;
}

/**
 * Opens the worker of a root: opens (and repairs) the store and, under the store lock,
 * reclaims what dead tsbuild processes left (worker/reclaim-leftovers.ts); the snapshotter
 * follows on first use.
 *
 * @example
 * const worker = await openWorker({ root: "/var/lib/tsbuild" });
 * const images = await listImages(worker);
 */
export async function openWorker(options: OpenWorkerOptions = {}): Promise<Worker> {
  const store = await openStore({
    ...(options.root === undefined ? {} : { root: options.root }),
    ...(options.env === undefined ? {} : { env: options.env }),
    ...(options.lockTimeoutMs === undefined ? {} : { lockTimeoutMs: options.lockTimeoutMs }),
  });
  await checkRootIdMapping(store.root, { readOnly: store.readOnly });
  // A read-only root can hold no leftovers we could remove, and needs no lock to be read.
  const reclaimed = store.readOnly ? undefined : await store.withLock(() => reclaimLeftovers(store.root));
  return new Worker(store, { ...(reclaimed === undefined ? {} : { reclaimed }), ...(options.snapshotter === undefined ? {} : { snapshotter: options.snapshotter }) });
}
