import { readFile } from "node:fs/promises";
import type { OciRuntime } from "../executor/oci-runtime.js";
import { writeFileAtomic } from "../store/atomic-file.js";
import { isProcessAlive, type ProcessIdentity } from "../store/process-identity.js";
import { containerPaths, type ContainerRecord } from "./container-record.js";
import type { PortBinding } from "./port-bindings.js";

/** `restarting`: the process exited and the shim waits to start it again (`--restart`). */
export type ContainerStatus = "created" | "running" | "restarting" | "exited";

/** What the shim last wrote to `state.json`: its own identity while the container runs, the exit after. */
export interface ContainerStateFile {
  status: ContainerStatus;
  /** The shim process that waits for the container (see container-shim.ts). */
  shim?: ProcessIdentity;
  startedAt?: string;
  finishedAt?: string;
  exitCode?: number;
  /** Why the container could not start. */
  error?: string;
  /** How often the shim restarted the process since the last start. */
  restartCount?: number;
  /** The published ports as the shim bound them (a picked host port for `-p 80` and `-P`). */
  ports?: PortBinding[];
}

/** The state as it truly is now, whatever process wrote it last or died meanwhile. */
export interface ContainerState {
  status: ContainerStatus;
  running: boolean;
  startedAt?: string;
  finishedAt?: string;
  /** Undefined when the process's end went unseen (its shim was killed). */
  exitCode?: number;
  error?: string;
  /** Its shim waits to start it again. */
  restarting: boolean;
  restartCount: number;
  /** While it runs (or is restarting): the published ports. */
  ports: PortBinding[];
}

/** Reads `state.json` (`containerPaths(...).state`); a missing one means never started. */
export async function readStateFile(path: string): Promise<ContainerStateFile> {
  try {
    return JSON.parse(await readFile(path, "utf8")) as ContainerStateFile;
  } catch {
    return { status: "created" };
  }
}

/** Replaces `state.json` atomically: readers see the old state or the new one. */
export async function writeStateFile(path: string, state: ContainerStateFile): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(state)}\n`);
}

/**
 * The container's true state. `state.json` says "running" from the moment a shim starts
 * it; when that shim was killed (a SIGKILL, a reboot) the runtime's own state decides,
 * so `ps -a` never shows a dead container as up.
 */
export async function containerState(record: ContainerRecord, options: { root: string; runtime: OciRuntime }): Promise<ContainerState> {
  const { root, runtime } = options;
  const file = await readStateFile(containerPaths(root, record.id).state);
  const base = {
    ...(file.startedAt === undefined ? {} : { startedAt: file.startedAt }),
    ...(file.finishedAt === undefined ? {} : { finishedAt: file.finishedAt }),
    ...(file.error === undefined ? {} : { error: file.error }),
    ...(file.exitCode === undefined ? {} : { exitCode: file.exitCode }),
    restartCount: file.restartCount ?? 0,
  };
  const shimAlive = file.shim !== undefined && isProcessAlive(file.shim);
  const live = { ...base, ports: file.ports ?? [] };
  if (file.status === "restarting" && shimAlive) return { ...live, status: "restarting", running: false, restarting: true };
  if (file.status !== "running") {
    return { ...base, status: file.status === "restarting" ? "exited" : file.status, running: false, restarting: false, ports: [] };
  }
  if (shimAlive || (await runtimeStatus(runtime, record.runtimeId)) === "running") return { ...live, status: "running", running: true, restarting: false };
  return { ...base, status: "exited", running: false, restarting: false, ports: [] };
}

/** The runtime's word for a container (`running`, `stopped`, `created` ...), undefined when it has none. */
export async function runtimeStatus(runtime: OciRuntime, runtimeId: string): Promise<string | undefined> {
  const result = await runtime.exec(["state", runtimeId]);
  if (result.code !== 0) return undefined;
  try {
    return (JSON.parse(result.stdout) as { status?: string }).status;
  } catch {
    return undefined;
  }
}

/** The pid of the container's init on the host, while it runs. */
export async function runtimePid(runtime: OciRuntime, runtimeId: string): Promise<number | undefined> {
  const result = await runtime.exec(["state", runtimeId]);
  if (result.code !== 0) return undefined;
  try {
    const state = JSON.parse(result.stdout) as { status?: string; pid?: number };
    return state.status === "running" && typeof state.pid === "number" && state.pid > 0 ? state.pid : undefined;
  } catch {
    return undefined;
  }
}
