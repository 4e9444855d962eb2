import { createSnapshotter } from "../snapshotter/create-snapshotter.js";
import type { Snapshotter, SnapshotterName } from "../snapshotter/types.js";
import { openStore, type Store } from "../store/store.js";
import { cleanStagingDirs } from "./staging-dir.js";

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
  readonly #implementation: SnapshotterName | undefined;
  #snapshotter: Promise<Snapshotter> | undefined;

  constructor(store: Store, options: { snapshotter?: SnapshotterName } = {}) {
    this.store = store;
    this.root = store.root;
    this.#implementation = options.snapshotter;
  }

  /** The root's snapshotter; a first call also removes what killed processes left in it. */
  async snapshotter(): Promise<Snapshotter> {
    this.#snapshotter ??= (async () => {
      const snapshotter = await createSnapshotter(this.root, this.#implementation === undefined ? {} : { implementation: this.#implementation });
      await snapshotter.cleanup();
      return snapshotter;
    })();
    return this.#snapshotter;
  }
}

/**
 * Opens the worker of a root: opens (and repairs) the store and removes the staging
 * directories of dead processes; the snapshotter follows on first use.
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
  await cleanStagingDirs(store.root);
  return new Worker(store, options.snapshotter === undefined ? {} : { snapshotter: options.snapshotter });
}
