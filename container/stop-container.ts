import { setTimeout as sleep } from "node:timers/promises";
import { TsbuildError } from "../errors.js";
import { openContainerRuntime } from "../executor/container-runtime.js";
import type { OciRuntime } from "../executor/oci-runtime.js";
import type { Worker } from "../worker/worker.js";
import { findContainer, type ContainerRecord } from "./container-record.js";
import { containerState, type ContainerState } from "./container-state.js";

export interface StopContainerOptions {
  /** Seconds to wait after the stop signal before SIGKILL. Default 10, as docker. */
  timeoutSeconds?: number;
  /** Default: the image's STOPSIGNAL, else SIGTERM. */
  signal?: string;
}

/** docker's `stop`: the stop signal, then SIGKILL after the timeout. A stopped container is left as it is. */
export async function stopContainer(worker: Worker, text: string, options: StopContainerOptions = {}): Promise<ContainerRecord> {
  const record = await findContainer(worker, text);
  const { runtime } = await openContainerRuntime(worker.root);
  if (!(await containerState(record, { root: worker.root, runtime })).running) return record;
  await runtime.kill(record.runtimeId, (options.signal ?? record.stopSignal).replace(/^SIG/i, "").toUpperCase());
  const stopped = await waitForExit(record, { root: worker.root, runtime, timeoutMs: (options.timeoutSeconds ?? 10) * 1000 });
  if (!stopped) {
    await runtime.kill(record.runtimeId, "KILL");
    await waitForExit(record, { root: worker.root, runtime, timeoutMs: 10_000 });
  }
  return record;
}

/** docker's `kill`: sends a signal (default SIGKILL) to the container's init; CONFLICT when it does not run. */
export async function killContainer(worker: Worker, text: string, options: { signal?: string } = {}): Promise<ContainerRecord> {
  const record = await findContainer(worker, text);
  const { runtime } = await openContainerRuntime(worker.root);
  if (!(await containerState(record, { root: worker.root, runtime })).running) {
    throw new TsbuildError("CONFLICT", `Cannot kill container "${text}": it is not running`);
  }
  const signal = options.signal ?? "KILL";
  if (!(await runtime.kill(record.runtimeId, signal.replace(/^SIG/i, "").toUpperCase()))) {
    throw new TsbuildError("SYSTEM", `Cannot send signal "${signal}" to container "${text}"`, { hint: "Give a signal name such as SIGTERM, or its number" });
  }
  if (/^(SIG)?KILL$|^9$/i.test(signal)) await waitForExit(record, { root: worker.root, runtime, timeoutMs: 10_000 });
  return record;
}

/** Waits until the container's state is no longer running (and its shim recorded the end); false on timeout. */
export async function waitForExit(record: ContainerRecord, options: { root: string; runtime: OciRuntime; timeoutMs: number }): Promise<boolean> {
  const { root, runtime } = options;
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    const state: ContainerState = await containerState(record, { root, runtime });
    if (!state.running) return true;
    if (Date.now() > deadline) return false;
    await sleep(25);
  }
}
