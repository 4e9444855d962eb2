import { spawn, type ChildProcess } from "node:child_process";
import { access, mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { TsbuildError } from "../errors.js";
import { createContainerSpec, openContainerRuntime, type ContainerRuntime } from "../executor/container-runtime.js";
import { createHostsFile, createResolvConf } from "../executor/etc-files.js";
import { bindMount } from "../executor/run-mounts.js";
import { sandboxResolvConf } from "../executor/sandbox-network.js";
import type { OutputStream } from "../executor/types.js";
import type { Worker } from "../worker/worker.js";
import { containerPaths, findContainer, type ContainerRecord } from "./container-record.js";
import { SHIM_NOTICE_FD } from "./container-shim.js";
import { containerState, readStateFile, runtimeStatus, writeStateFile } from "./container-state.js";
import { containerVolumePath } from "./create-container.js";
import { isMountPoint } from "./mount-points.js";
import { serializeRuntimeJson } from "../executor/runtime-spec.js";
import { packageFile } from "../util/package-file.js";

export interface AttachOptions {
  /**
   * Give the container this process's own stdin (for `-i`), and for `-t` its terminal as
   * stdin, stdout and stderr, as the CLI does. Otherwise stdin is closed. Output of a
   * container without a terminal arrives through `onOutput`.
   */
  inheritStdio?: boolean;
  onOutput?: (stream: OutputStream, chunk: Buffer) => void;
}

export interface StartContainerOptions {
  /** Stay attached: resolve `exited` with the exit status. Without it the container runs in the background. */
  attach?: AttachOptions;
}

export interface StartedContainer {
  record: ContainerRecord;
  /**
   * Attached starts only: the container's exit status (its first, when `--restart` starts
   * it again: the shim then runs on, detached).
   */
  exited?: Promise<number>;
  /** Attached starts with a terminal only: call when the caller's terminal changed size. */
  resized?: () => void;
}

const SHIM_MAIN = packageFile("dist/container/shim-main.js");
const START_TIMEOUT_MS = 30_000;

/**
 * docker's `start`: mounts the writable snapshot when it is not (after a reboot), writes the
 * runtime bundle (config.json, /etc/hosts, /etc/resolv.conf, /etc/hostname) and starts the
 * container's shim in a session of its own. Detached, it resolves once the process runs (or
 * has already exited); a container that is running already is left as it is.
 */
export async function startContainer(worker: Worker, text: string, options: StartContainerOptions = {}): Promise<StartedContainer> {
  const record = await findContainer(worker, text);
  const containerRuntime = await openContainerRuntime(worker.root);
  const { runtime } = containerRuntime;
  if ((await containerState(record, { root: worker.root, runtime })).running) return { record };
  const paths = containerPaths(worker.root, record.id);
  if (!(await isMountPoint(paths.rootfs))) await (await worker.snapshotter()).mount(record.snapshotKey, paths.rootfs);
  // A runtime container left by a killed shim would make `run` refuse the id.
  if ((await runtimeStatus(runtime, record.runtimeId)) !== undefined) await runtime.delete(record.runtimeId);
  // A start undoes the last stop: its restart policy holds again.
  await rm(paths.stopRequest, { force: true });
  try {
    await writeBundle(worker.root, record, containerRuntime);
  } catch (error) {
    // A start that cannot even describe the process (an unknown user, a bad working
    // directory) leaves a --rm container nothing to clean it up but this, and a stopped
    // container holds no mount.
    if (record.autoRemove) {
      const { removeContainer } = await import("./remove-container.js");
      await removeContainer(worker, record.id, { force: true, volumes: true }).catch(() => undefined);
    } else if (await isMountPoint(paths.rootfs)) {
      await (await worker.snapshotter()).unmount(paths.rootfs);
    }
    throw error;
  }
  await writeStateFile(containerPaths(worker.root, record.id).state, { status: "created" });

  const attach = options.attach;
  const mode = attach === undefined ? "detached" : "attached";
  const inherit = attach?.inheritStdio === true;
  const stdio: Array<"inherit" | "ignore" | "pipe"> =
    attach === undefined ? ["ignore", "ignore", "ignore"] : record.tty && inherit ? ["inherit", "inherit", "inherit"] : [record.interactive && inherit ? "inherit" : "ignore", "pipe", "pipe"];
  // Attached, the shim tells its first exit on this pipe when it restarts the container.
  if (attach !== undefined) stdio[SHIM_NOTICE_FD] = "pipe";
  const child = spawn(process.execPath, [SHIM_MAIN, worker.root, record.id, mode], { detached: true, stdio });
  if (attach === undefined) {
    child.unref();
    await waitUntilStarted(worker.root, record, containerRuntime, child);
    return { record };
  }
  for (const stream of ["stdout", "stderr"] as const) {
    child[stream]?.on("data", (chunk: Buffer) => {
      try {
        attach.onOutput?.(stream, chunk);
      } catch {
        // A listener's bug must not lose the container's exit status.
      }
    });
  }
  return { record, exited: exitOf(child), ...(record.tty ? { resized: () => void child.kill("SIGWINCH") } : {}) };
}

/** The shim's exit status, or the first exit it reports on its notice pipe (then it is let go). */
function exitOf(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    let notice = "";
    const pipe = child.stdio[SHIM_NOTICE_FD] as Readable | null;
    pipe?.on("data", (chunk: Buffer) => {
      notice += chunk.toString("utf8");
      const match = /^exit (\d+)\n/.exec(notice);
      if (match === null) return;
      for (const stream of [child.stdout, child.stderr, pipe]) stream?.destroy();
      child.unref();
      resolve(Number(match[1]));
    });
    child.once("error", (error) => reject(new TsbuildError("SYSTEM", `Cannot start the container's shim: ${error.message}`, { cause: error })));
    child.once("close", (code) => resolve(code ?? 125));
  });
}

/** Waits until the runtime says the container runs, or the shim has recorded its end. */
async function waitUntilStarted(root: string, record: ContainerRecord, containerRuntime: ContainerRuntime, child: ChildProcess): Promise<void> {
  let shimGone = false;
  child.once("exit", () => (shimGone = true));
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const state = await readStateFile(containerPaths(root, record.id).state);
    if (state.status === "exited") {
      if (state.error !== undefined) throw new TsbuildError("EXEC_FAILED", `Cannot start container "${record.name}": ${state.error}`);
      return;
    }
    // Restarting: it ran and exited, and its shim starts it again (--restart).
    if (state.status === "restarting" || (await runtimeStatus(containerRuntime.runtime, record.runtimeId)) === "running") return;
    // A --rm container that already ended has been removed by its shim.
    if (!(await access(containerPaths(root, record.id).record).then(() => true, () => false))) return;
    if (shimGone && (await readStateFile(containerPaths(root, record.id).state)).status !== "exited") {
      throw new TsbuildError("SYSTEM", `Cannot start container "${record.name}": its shim exited before the container ran`);
    }
    await sleep(20);
  }
  throw new TsbuildError("SYSTEM", `Cannot start container "${record.name}": it did not start within ${START_TIMEOUT_MS / 1000} s`);
}

/** `--dns` servers, else the network's: slirp4netns's forwarder, or the host's file. */
async function containerResolvConf(record: ContainerRecord): Promise<string> {
  if (record.dns !== undefined) return sandboxResolvConf(record.dns);
  return record.network === "default" ? sandboxResolvConf() : createResolvConf();
}

async function writeBundle(root: string, record: ContainerRecord, containerRuntime: ContainerRuntime): Promise<void> {
  const paths = containerPaths(root, record.id);
  await mkdir(paths.bundle, { recursive: true, mode: 0o700 });
  const hosts = join(paths.bundle, "hosts");
  const resolv = join(paths.bundle, "resolv.conf");
  const hostname = join(paths.bundle, "hostname");
  await writeFile(hosts, createHostsFile({ hostname: record.hostname, extraHosts: record.extraHosts }), { mode: 0o644 });
  await writeFile(resolv, await containerResolvConf(record), { mode: 0o644 });
  await writeFile(hostname, `${record.hostname}\n`, { mode: 0o644 });
  const mounts = [bindMount(hosts, "/etc/hosts", false), bindMount(resolv, "/etc/resolv.conf", false), bindMount(hostname, "/etc/hostname", false)];
  for (const mount of record.mounts) {
    const source = mount.type === "volume" ? containerVolumePath(root, mount.source) : mount.source;
    mounts.push(bindMount(source, mount.target, mount.readonly));
  }
  const spec = await createContainerSpec(paths.rootfs, {
    args: record.args,
    env: record.env.some((entry) => entry.startsWith("HOSTNAME=")) ? record.env : [`HOSTNAME=${record.hostname}`, ...record.env],
    cwd: record.cwd,
    user: record.user,
    terminal: record.tty,
    hostname: record.hostname,
    // The default network's namespace is the shim's to make (see container-shim.ts): until it
    // joins the container to it, a namespace of its own with only `lo` is the safe default.
    network: record.network === "host" ? "host" : "none",
    mounts,
    id: record.runtimeId,
    cgroups: containerRuntime.cgroups,
  });
  await writeFile(join(paths.bundle, "config.json"), serializeRuntimeJson(spec));
}
