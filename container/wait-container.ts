import { access } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { TsbuildError } from "../errors.js";
import { openContainerRuntime } from "../executor/container-runtime.js";
import type { Worker } from "../worker/worker.js";
import { containerPaths, findContainer } from "./container-record.js";
import { containerState } from "./container-state.js";

/** How often the state file is read while waiting: it is written by the shim, another process. */
const POLL_MS = 50;

/**
 * docker's `wait`: resolves with the container's exit code once it has stopped for good (not
 * running, not restarting). A created container is waited for until it runs and stops; a
 * `--rm` container removed by its shim resolves with the exit its shim recorded last.
 */
export async function waitContainer(worker: Worker, text: string, options: { signal?: AbortSignal } = {}): Promise<number> {
  const record = await findContainer(worker, text);
  const { runtime } = await openContainerRuntime(worker.root);
  const paths = containerPaths(worker.root, record.id);
  let lastExit: number | undefined;
  while (await exists(paths.record)) {
    if (options.signal?.aborted === true) throw new TsbuildError("CANCELLED", `Waiting for container "${text}" cancelled`);
    const state = await containerState(record, { root: worker.root, runtime });
    if (state.status === "exited") return state.exitCode ?? -1;
    lastExit = state.exitCode ?? lastExit;
    await sleep(POLL_MS);
  }
  // Removed meanwhile (`--rm`): its shim recorded the exit just before.
  if (lastExit !== undefined) return lastExit;
  throw new TsbuildError("NOT_FOUND", `Container "${text}" was removed before its exit was seen`);
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
