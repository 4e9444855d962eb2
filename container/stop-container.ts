import { writeFile } from "node:fs/promises";
import { constants } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { TsbuildError } from "../errors.js";
import { openContainerRuntime } from "../executor/container-runtime.js";
import type { OciRuntime } from "../executor/oci-runtime.js";
import type { Worker } from "../worker/worker.js";
import { containerPaths, findContainer, type ContainerRecord } from "./container-record.js";
import { containerState, type ContainerState } from "./container-state.js";

export interface StopContainerOptions {
  /** Seconds to wait after the stop signal before SIGKILL. Default 10, as docker. */
  timeoutSeconds?: number;
  /** Default: the image's STOPSIGNAL, else SIGTERM. */
  signal?: string;
}

/**
 * docker's `stop`: the stop signal, then SIGKILL after the timeout. A stopped container is
 * left as it is; a restarting one is not started again.
 */
export async function stopContainer(worker: Worker, text: string, options: StopContainerOptions = {}): Promise<ContainerRecord> {
  const record = await findContainer(worker, text);
  const { runtime } = await openContainerRuntime(worker.root);
  const state = await containerState(record, { root: worker.root, runtime });
  if (state.restarting) {
    await requestStop(worker.root, record);
    await waitForExit(record, { root: worker.root, runtime, timeoutMs: 60_000 });
  }
  if (!state.running) return record;
  await requestStop(worker.root, record);
  await runtime.kill(record.runtimeId, (options.signal ?? record.stopSignal).replace(/^SIG/i, "").toUpperCase());
  const stopped = await waitForExit(record, { root: worker.root, runtime, timeoutMs: (options.timeoutSeconds ?? 10) * 1000 });
  if (!stopped) {
    await runtime.kill(record.runtimeId, "KILL");
    await waitForExit(record, { root: worker.root, runtime, timeoutMs: 10_000 });
  }
  return record;
}

/**
 * docker's `kill`: sends a signal (default SIGKILL) to the container's init; CONFLICT when
 * it does not run. SIGKILL and the container's stop signal count as a `stop`: the restart
 * policy does not start it again (unless `restart`, for the signals an attached `run`
 * forwards). Others (a SIGHUP to reload) leave the policy be, where docker's daemon would
 * disable it (moby/moby#53415).
 */
export async function killContainer(worker: Worker, text: string, options: { signal?: string; restart?: boolean } = {}): Promise<ContainerRecord> {
  const record = await findContainer(worker, text);
  const { runtime } = await openContainerRuntime(worker.root);
  if (!(await containerState(record, { root: worker.root, runtime })).running) {
    throw new TsbuildError("CONFLICT", `Cannot kill container "${text}": it is not running`);
  }
  const signal = options.signal ?? "KILL";
  if (options.restart !== true && stopsContainer(signal, record.stopSignal)) await requestStop(worker.root, record);
  if (!(await runtime.kill(record.runtimeId, signal.replace(/^SIG/i, "").toUpperCase()))) {
    throw new TsbuildError("SYSTEM", `Cannot send signal "${signal}" to container "${text}"`, { hint: "Give a signal name such as SIGTERM, or its number" });
  }
  if (/^(SIG)?KILL$|^9$/i.test(signal)) await waitForExit(record, { root: worker.root, runtime, timeoutMs: 10_000 });
  return record;
}

/** Whether `signal` (a name with or without SIG, or a number) is SIGKILL or the container's stop signal. */
function stopsContainer(signal: string, stopSignal: string): boolean {
  const name = (text: string) => {
    const bare = text.replace(/^SIG/i, "").toUpperCase();
    return /^\d+$/.test(bare) ? (Object.entries(constants.signals).find(([, number]) => String(number) === bare)?.[0].slice(3) ?? bare) : bare;
  };
  return name(signal) === "KILL" || name(signal) === name(stopSignal);
}

/** Tells the container's shim not to restart it (see container-shim.ts); the next start clears it. */
export async function requestStop(root: string, record: ContainerRecord): Promise<void> {
  await writeFile(containerPaths(root, record.id).stopRequest, "");
}

/** Waits until the container's state is no longer running nor restarting (its shim recorded the end); false on timeout. */
export async function waitForExit(record: ContainerRecord, options: { root: string; runtime: OciRuntime; timeoutMs: number }): Promise<boolean> {
  const { root, runtime } = options;
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    const state: ContainerState = await containerState(record, { root, runtime });
    if (!state.running && !state.restarting) return true;
    if (Date.now() > deadline) return false;
    await sleep(25);
  }
}
