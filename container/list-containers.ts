import { openContainerRuntime } from "../executor/container-runtime.js";
import type { Worker } from "../worker/worker.js";
import { containerPaths, readContainerRecords, type ContainerRecord } from "./container-record.js";
import { containerState, type ContainerState } from "./container-state.js";
import { readHealth, type HealthState } from "./health-check.js";

export interface ContainerListEntry {
  record: ContainerRecord;
  state: ContainerState;
  /** A running container with a health check: its health as the shim last wrote it. */
  health?: HealthState;
}

/** docker's `ps`: running (and restarting) containers, or all with `all`; newest first. States are checked, not trusted. */
export async function listContainers(worker: Worker, options: { all?: boolean } = {}): Promise<ContainerListEntry[]> {
  const { runtime } = await openContainerRuntime(worker.root);
  const entries: ContainerListEntry[] = [];
  for (const record of await readContainerRecords(worker.root)) {
    const state = await containerState(record, { root: worker.root, runtime });
    // As docker's: a restarting container is listed with the running ones.
    if (!(options.all === true || state.running || state.restarting)) continue;
    const health = state.running && record.healthcheck !== undefined ? await readHealth(containerPaths(worker.root, record.id)) : undefined;
    entries.push({ record, state, ...(health === undefined ? {} : { health }) });
  }
  return entries.reverse();
}

/**
 * docker's STATUS column: `Up 3 seconds (healthy)`, `Restarting (1) 2 seconds ago`,
 * `Exited (0) 2 minutes ago`, `Created`.
 */
export function describeState(state: ContainerState, now: number = Date.now(), health?: HealthState): string {
  const ago = (iso: string | undefined) => humanSince(iso, now);
  if (state.running) {
    const healthNote = health === undefined ? "" : health.Status === "starting" ? " (health: starting)" : ` (${health.Status})`;
    return `Up ${ago(state.startedAt)}${healthNote}`;
  }
  if (state.status === "created") return "Created";
  const code = state.exitCode === undefined ? "unknown" : String(state.exitCode);
  return `${state.restarting ? "Restarting" : "Exited"} (${code}) ${ago(state.finishedAt)} ago`;
}

function humanSince(iso: string | undefined, now: number): string {
  const time = iso === undefined ? NaN : Date.parse(iso);
  if (Number.isNaN(time)) return "a while";
  const seconds = Math.max(0, Math.floor((now - time) / 1000));
  if (seconds < 1) return "Less than a second";
  if (seconds < 60) return `${seconds} second${seconds === 1 ? "" : "s"}`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} minute${minutes === 1 ? "" : "s"}`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} hour${hours === 1 ? "" : "s"}`;
  return `${Math.floor(hours / 24)} days`;
}
