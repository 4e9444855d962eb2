import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isTsbuildError, TsbuildError } from "../errors.js";
import { Executor, type ExecutorOptions } from "../executor/executor.js";
import { formatReference, parseReference, withDefaultTag } from "../oci/reference.js";
import { createRegistryImageResolver } from "../registry/registry-image-resolver.js";
import { resolveImage } from "../worker/resolve-image.js";
import { saveImages } from "../worker/save-images.js";
import { unpackImage } from "../worker/unpack-image.js";
import { openWorker, type OpenWorkerOptions, type Worker as RootWorker } from "../worker/worker.js";
import type { ImageSource, ProcessRunner, Worker } from "../solver/types.js";

export interface OpenBuildWorkerOptions extends OpenWorkerOptions {
  /** A root's worker to build on (from `openWorker`); default: one opened over `root`. */
  worker?: RootWorker;
  /** Passed to `Executor.create` (runtime, default network ...). */
  executor?: Omit<ExecutorOptions, "root">;
  /** Where steps mount their snapshots; default a new directory in the OS temp dir, removed by `close`. */
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
  const { executor: executorOptions, tempDir: givenTempDir, pull = "missing", worker: givenRoot, ...workerOptions } = options;
  const root = givenRoot ?? (await openWorker(workerOptions));
  const snapshotter = await root.snapshotter();
  // Created on the first RUN: probing the runtime starts a sandbox, which a fully cached
  // build (or one of COPYs only) never needs.
  let created: Promise<Executor> | undefined;
  const executor: ProcessRunner = {
    run: async (rootfs, proc, runOptions) => (await (created ??= Executor.create({ ...executorOptions, root: root.root }))).run(rootfs, proc, runOptions),
  };
  const tempDir = givenTempDir ?? (await mkdtemp(join(tmpdir(), "tsbuild-build-")));
  const images: ImageSource = {
    async resolveImageConfig(ref, { platform, signal, onProgress }) {
      if (pull !== "never") {
        // A FROM image the store lacks is pulled (registry/), and comes back pinned by digest.
        const resolver = createRegistryImageResolver(root, {
          pull,
          ...(signal === undefined ? {} : { signal }),
          ...(onProgress === undefined
            ? {}
            : { onProgress: (event) => onProgress({ id: event.digest, action: "pull", current: event.current, total: event.total, unit: "bytes", ...(event.status === "done" || event.status === "exists" ? { done: true } : {}) }) }),
        });
        return resolver.resolveImageConfig(ref, { platform });
      }
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
    async unpack(ref, { signal, lease, onProgress }) {
      // By digest, and from the content a lease holds when an rmi untagged it meanwhile.
      const unpacked = await unpackImage(root, ref, {
        fromContent: true,
        ...(signal === undefined ? {} : { signal }),
        ...(lease === undefined ? {} : { lease }),
        ...(onProgress === undefined ? {} : { onLayer: (diffId, index, count) => onProgress({ id: diffId, action: "unpack", current: index + 1, total: count, unit: "items", ...(index + 1 === count ? { done: true } : {}) }) }),
      });
      return { top: unpacked.top, layers: unpacked.image.manifest.layers, config: unpacked.image.config };
    },
    async save(references, saveOptions) {
      await saveImages(root, references, saveOptions);
    },
    async describe(ref) {
      const image = await resolveImage(root.store, ref, { fromContent: true });
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
