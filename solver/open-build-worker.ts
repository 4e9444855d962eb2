import { rm } from "node:fs/promises";
import { isTsbuildError, TsbuildError } from "../errors.js";
import { Executor, type ExecutorOptions } from "../executor/executor.js";
import { formatReference, parseReference, withDefaultTag } from "../oci/reference.js";
import { createRegistryImageResolver } from "../registry/registry-image-resolver.js";
import { resolveImage } from "../worker/resolve-image.js";
import { saveImages } from "../worker/save-images.js";
import { unpackImage } from "../worker/unpack-image.js";
import { makeStagingDir } from "../worker/staging-dir.js";
import { openWorker, type OpenWorkerOptions, type Worker as RootWorker } from "../worker/worker.js";
import type { ImageSource, ProcessRunner, Worker } from "./types.js";

export interface OpenBuildWorkerOptions extends OpenWorkerOptions {
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
  /** Removes the worker's temporary directory. */
  close(): Promise<void>;
}

/**
 * The solver's worker over a tsbuild root: the root's store and snapshotter (worker/), an
 * executor, and base images resolved in the store, pinned by digest so a retagged base
 * changes every cache key above it.
 */
export async function openBuildWorker(options: OpenBuildWorkerOptions = {}): Promise<BuildWorker> {
  const { executor: executorOptions, tempDir: givenTempDir, pull = "missing", ...workerOptions } = options;
  const root = await openWorker(workerOptions);
  const snapshotter = await root.snapshotter();
  // Created on the first RUN: probing the runtime starts a sandbox, which a fully cached
  // build (or one of COPYs only) never needs.
  let created: Promise<Executor> | undefined;
  const executor: ProcessRunner = {
    run: async (rootfs, proc, runOptions) => (await (created ??= Executor.create({ ...executorOptions, root: root.root }))).run(rootfs, proc, runOptions),
  };
  // Under <root>/tmp, named after this process: a killed build's mount points are reclaimed.
  const tempDir = givenTempDir ?? (await makeStagingDir(root.root, "build"));
  // A FROM image the store lacks is pulled (registry/), and comes back pinned by digest.
  const registryResolver = createRegistryImageResolver(root, { pull });
  const images: ImageSource = {
    async resolveImageConfig(ref, resolveOptions) {
      if (pull !== "never") return registryResolver.resolveImageConfig(ref, resolveOptions);
      const image = await resolveImage(root.store, ref).catch((error: unknown) => {
        if (!isTsbuildError(error, "NOT_FOUND")) throw error;
        throw new TsbuildError("NOT_FOUND", `Cannot use base image "${ref}": it is not in the store`, {
          cause: error,
          hint: `Put it there first: tsbuild pull ${ref}, tsbuild load -i IMAGE.tar (from docker save), or tsbuild import ROOTFS.tar NAME`,
        });
      });
      const reference = parseReference(ref);
      const name = reference.digest === undefined ? `${formatReference(withDefaultTag(reference))}@${image.summary.digest}` : ref;
      return { ref: name, config: image.config };
    },
    async unpack(ref, unpackOptions) {
      const unpacked = await unpackImage(root, ref, unpackOptions.signal === undefined ? {} : { signal: unpackOptions.signal });
      return { top: unpacked.top, layers: unpacked.image.manifest.layers, config: unpacked.image.config };
    },
    async save(references, saveOptions) {
      await saveImages(root, references, saveOptions);
    },
    async describe(ref) {
      const image = await resolveImage(root.store, ref);
      return { layers: image.manifest.layers, config: image.config };
    },
  };
  return {
    worker: { store: root.store, snapshotter, executor, images, tempDir },
    root,
    close: async () => {
      if (givenTempDir === undefined) await rm(tempDir, { recursive: true, force: true });
    },
  };
}
