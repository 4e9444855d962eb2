import { isTsbuildError, TsbuildError } from "../../errors.js";
import type { Digest } from "../../oci/digest.js";
import { SnapshotMounts } from "../snapshot-mounts.js";
import type { VertexResult } from "../types.js";
import { snapshotNameFor, uniqueNameFor, type StepEnvironment } from "./step-environment.js";

/**
 * Runs `work` in a fresh writable snapshot over `parent` (an empty tree for none), then
 * commits it under the step's cache key (a digest, so the worker's snapshot collector
 * treats it like a layer), held by the build's lease from before the commit. `afterUnmount`
 * may finish the snapshot's changes directory between the unmount and the commit.
 */
export async function commitStep(
  env: StepEnvironment,
  key: Digest,
  parent: VertexResult,
  work: (root: string, mounts: SnapshotMounts, active: string) => Promise<void>,
  options: { afterUnmount?: (active: string) => Promise<void> } = {},
): Promise<VertexResult & { kind: "snapshot" }> {
  if (parent.kind === "directory") throw new TsbuildError("INTERNAL", "A step cannot build on a context directory");
  const { worker, lease } = env;
  const mounts = new SnapshotMounts(worker.snapshotter, worker.tempDir);
  try {
    const active = await mounts.active(parent.kind === "snapshot" ? parent.key : undefined);
    await work(active.path, mounts, active.key);
    if (options.afterUnmount !== undefined) {
      await mounts.unmount(active.key);
      await options.afterUnmount(active.key);
    }
    let name = await snapshotNameFor(worker, key);
    // Side by side: the lease's write under the store lock and the unmount (a program).
    // Both settle before a failure reaches the cleanup below, which unmounts too.
    const settled = await Promise.allSettled([lease.hold({ snapshots: [name] }), mounts.unmount(active.key)]);
    for (const outcome of settled) if (outcome.status === "rejected") throw outcome.reason;
    try {
      await mounts.commit(active.key, name);
    } catch (error) {
      // Another build committed the same step meanwhile: keep ours under a name of its own.
      if (!isTsbuildError(error, "CONFLICT") || name !== key) throw error;
      name = uniqueNameFor(key);
      await lease.hold({ snapshots: [name] });
      await mounts.commit(active.key, name);
    }
    return { kind: "snapshot", key: name };
  } finally {
    await mounts.release();
  }
}
