import { rm } from "node:fs/promises";
import { Executor, type ExecutorOptions } from "../executor/executor.js";
import { makeStagingDir } from "../worker/staging-dir.js";
import { openWorker, type OpenWorkerOptions, type Worker as RootWorker } from "../worker/worker.js";
import type { ProcessRunner, Worker } from "../solver/types.js";
import { buildImageSource } from "./build-image-source.js";
import { removeIdleMountPoints } from "../solver/snapshot-mounts.js";

export interface OpenBuildWorkerOptions extends OpenWorkerOptions {
  /** A root's worker to build on (from `openWorker`); default: one opened over `root`. */
  worker?: RootWorker;
  /** Passed to `Executor.create` (runtime, default network ...). */
  executor?: Omit<ExecutorOptions, "root">;
  /** Where steps mount their snapshots; default a new staging directory under `<root>/tmp`, removed by `close`. */
  tempDir?: string;
  /**
   * Base images: `missing` (default) pulls one the store lacks, `always` asks the registry
   * every time (`--pull`), `never` uses the store only.
   */
  pull?: "missing" | "always" | "never";
}

/** A solver worker and how to let go of it. */
export interface BuildWorker {
  worker: Worker;
  /** The root's own worker (worker/), for image operations around the build. */
  root: RootWorker;
  /** No step runs any more: closes the executor's kept networks (a later run opens new ones). */
  stepsDone(): Promise<void>;
  /** Closes the executor's kept networks and removes the worker's temporary directory. */
  close(): Promise<void>;
}

/**
 * The solver's worker over a tsbuild root: the root's store and snapshotter (worker/), an
 * executor, and base images resolved in the store, pinned by digest so a retagged base
 * changes every cache key above it.
 */
export async function openBuildWorker(options: OpenBuildWorkerOptions = {}): Promise<BuildWorker> {
  const { executor: executorOptions, tempDir: givenTempDir, pull = "missing", worker: givenRoot, ...workerOptions } = options;
  const root = givenRoot ?? (await openWorker(workerOptions));
  const snapshotter = await root.snapshotter();
  // Created on the first RUN: probing the runtime starts a sandbox, which a fully cached
  // build (or one of COPYs only) never needs.
  let created: Promise<Executor> | undefined;
  const executor: ProcessRunner = {
    run: async (rootfs, proc, runOptions) => (await (created ??= Executor.create({ ...executorOptions, root: root.root }))).run(rootfs, proc, runOptions),
  };
  // Under <root>/tmp, named after this process: a killed build's mount points are reclaimed.
  const tempDir = givenTempDir ?? (await makeStagingDir(root.root, "build"));
  const images = buildImageSource(root, pull);
  // An executor that could not be made has nothing to close; its error was the RUN's.
  const closeExecutor = async () => created?.then((executor) => executor.close(), () => undefined);
  return {
    worker: { store: root.store, snapshotter, executor, images, tempDir },
    root,
    stepsDone: closeExecutor,
    close: async () => {
      await closeExecutor();
      if (givenTempDir === undefined) await rm(tempDir, { recursive: true, force: true });
      await removeIdleMountPoints(tempDir); // what is left of them in a given directory, and the process's list
    },
  };
}
