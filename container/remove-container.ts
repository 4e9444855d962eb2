import { rm } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { isTsbuildError, TsbuildError } from "../errors.js";
import { openContainerRuntime } from "../executor/container-runtime.js";
import { isProcessAlive } from "../store/process-identity.js";
import { REF_KINDS } from "../store/ref-store.js";
import type { Worker } from "../worker/worker.js";
import { containerPaths, findContainer, type ContainerRecord } from "./container-record.js";
import { containerState, readStateFile } from "./container-state.js";
import { isMountPoint } from "./mount-points.js";
import { requestStop, waitForExit } from "./stop-container.js";
import { removeVolume } from "./volumes.js";

export interface RemoveContainerOptions {
  /** Kill a running container first (docker's `rm -f`). */
  force?: boolean;
  /** Also remove the container's anonymous volumes (docker's `rm -v`). */
  volumes?: boolean;
}

/**
 * docker's `rm`: removes the runtime's container, the rootfs mount, the writable and init
 * snapshots, the ref record (so `rmi` may remove the image) and the container's directory.
 * A running container is CONFLICT unless forced. Every step tolerates what a killed
 * process, or a shim removing a `--rm` container at the same time, left half done.
 */
export async function removeContainer(worker: Worker, text: string, options: RemoveContainerOptions = {}): Promise<ContainerRecord> {
  const record = await findContainer(worker, text);
  const { runtime } = await openContainerRuntime(worker.root);
  const state = await containerState(record, { root: worker.root, runtime });
  if (state.running || state.restarting) {
    if (options.force !== true) {
      throw new TsbuildError("CONFLICT", `Cannot remove container "${text}": it is ${state.status}`, { hint: "Stop it first, or use --force" });
    }
    await requestStop(worker.root, record);
    await runtime.kill(record.runtimeId, "KILL");
    await waitForExit(record, { root: worker.root, runtime, timeoutMs: 10_000 });
  }
  // The shim records the exit and may be removing a --rm container itself: let it finish.
  const shim = (await readStateFile(containerPaths(worker.root, record.id).state)).shim;
  for (let i = 0; shim !== undefined && shim.pid !== process.pid && isProcessAlive(shim) && i < 200; i++) await sleep(25);
  await runtime.delete(record.runtimeId);

  const paths = containerPaths(worker.root, record.id);
  const snapshotter = await worker.snapshotter();
  if (await isMountPoint(paths.rootfs)) await snapshotter.unmount(paths.rootfs);
  for (const key of [record.snapshotKey, record.initKey, `${record.initKey}-active`]) {
    await snapshotter.remove(key).catch((error: unknown) => {
      if (!isTsbuildError(error, "NOT_FOUND")) throw error;
    });
  }
  await worker.store.refs.remove(REF_KINDS.container, record.id);
  await rm(paths.dir, { recursive: true, force: true });
  if (options.volumes === true) {
    for (const mount of record.mounts) {
      if (mount.anonymous === true) await removeVolume(worker, mount.source, { force: true }).catch(() => undefined);
    }
  }
  return record;
}
