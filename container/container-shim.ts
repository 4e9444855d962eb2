import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, type WriteStream } from "node:fs";
import { access, readFile, writeFile } from "node:fs/promises";
import { constants } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { openContainerRuntime } from "../executor/container-runtime.js";
import type { OciRuntime } from "../executor/oci-runtime.js";
import { runtimeLogMessages } from "../executor/runtime-log.js";
import type { RuntimeSpec } from "../executor/runtime-spec.js";
import { serializeRuntimeJson } from "../executor/runtime-spec.js";
import { openSandboxNetwork, type SandboxNetwork } from "../executor/sandbox-network.js";
import { RUNNING_LABEL } from "../store/disk-usage.js";
import { currentProcess } from "../store/process-identity.js";
import { REF_KINDS } from "../store/ref-store.js";
import type { Worker } from "../worker/worker.js";
import { applyConsoleSize } from "./console-size.js";
import { containerPaths, type ContainerPaths, type ContainerRecord } from "./container-record.js";
import { runtimeStatus, writeStateFile } from "./container-state.js";
import { startHealthChecks } from "./health-check.js";
import { isMountPoint } from "./mount-points.js";
import { publishPorts } from "./publish-ports.js";
import type { PortBinding } from "./port-bindings.js";
import { restartDelayMs, shouldRestart } from "./restart-policy.js";

/** How the shim's caller watches: attached (its stdio are the caller's) or detached (a log only). */
export type ShimMode = "attached" | "detached";

/** The file descriptor on which an attached shim tells its caller the first exit of a container it restarts. */
export const SHIM_NOTICE_FD = 3;

/**
 * The process that stays with a container for its whole life, as containerd's shim and
 * podman's conmon do: it gives the container its network (a namespace of its own through
 * slirp4netns, with the published ports), runs the runtime's foreground `run`, writes the
 * output to the container's log (docker's json-file lines) and, attached, to its own stdout
 * and stderr, runs the image's health checks, restarts the process as `--restart` says,
 * then records the exit in `state.json`, unmounts the rootfs and, for `--rm`, removes the
 * container. It runs in a session of its own, so it outlives the tsbuild that started it;
 * its exit status is the container's last one.
 */
export async function runShim(root: string, id: string, options: { mode: ShimMode }): Promise<number> {
  const paths = containerPaths(root, id);
  const record = JSON.parse(await readFile(paths.record, "utf8")) as ContainerRecord;
  const { runtime } = await openContainerRuntime(root);
  // An attached caller may be gone (killed): its pipes then fail, and the log goes on.
  process.stdout.on("error", () => undefined);
  process.stderr.on("error", () => undefined);
  const { openWorker } = await import("../worker/worker.js");
  const worker = await openWorker({ root });

  let mode = options.mode;
  let outcome: RunOutcome = { exitCode: 125 };
  let startedAt = new Date().toISOString();
  let restarts = 0;
  let delayMs = 0;
  let network: SandboxNetwork | undefined;
  let ports: PortBinding[] = [];
  try {
    if (record.network === "default") {
      network = await openSandboxNetwork({ portForwarding: (record.ports ?? []).length > 0 });
      await joinNetwork(paths.bundle, network.namespacePath);
      ports = await publishPorts(network, record.ports ?? []);
    }
    for (;;) {
      startedAt = new Date().toISOString();
      const running = { shim: currentProcess(), startedAt, restartCount: restarts, ...(ports.length === 0 ? {} : { ports }) };
      await writeStateFile(paths.state, { status: "running", ...running });
      const marked = markRunning(worker, record, true).catch(() => undefined);
      const health = record.healthcheck === undefined ? undefined : await startHealthChecks({ runtime, record, paths, settings: record.healthcheck });
      try {
        outcome = await runOnce({ runtime, record, paths, mode });
      } finally {
        await health?.stop();
      }
      await marked;
      const stopRequested = await exists(paths.stopRequest);
      // A process that could not even start would fail the same way again.
      if (outcome.cannotStart === true || !shouldRestart(record.restartPolicy, { exitCode: outcome.exitCode, restarts, stopRequested })) break;
      delayMs = restartDelayMs(delayMs, Date.now() - Date.parse(startedAt));
      await writeStateFile(paths.state, { status: "restarting", ...running, finishedAt: new Date().toISOString(), exitCode: outcome.exitCode });
      if (mode === "attached") {
        // The caller returns with this exit; the restarted process runs on like a detached one.
        notifyCaller(outcome.exitCode);
        mode = "detached";
      }
      if (await stopRequestedWithin(paths.stopRequest, delayMs)) break;
      restarts += 1;
    }
  } catch (error) {
    outcome = { exitCode: 125, failure: (error as Error).message, cannotStart: true };
    if (mode === "attached") process.stderr.write(`tsbuild: ${outcome.failure}\n`);
  } finally {
    await network?.close();
  }
  // Unmounted before the exit is recorded: a `start` that follows it mounts again.
  const snapshotter = await worker.snapshotter();
  if (!record.autoRemove && (await isMountPoint(paths.rootfs))) {
    // Busy (a `cp` reading it): it stays mounted, and the next start or rm deals with it.
    await snapshotter.unmount(paths.rootfs).catch(() => undefined);
  }
  // The ref first: whoever sees the exit in state.json then finds the ref up to date too.
  if (!record.autoRemove) await markRunning(worker, record, false).catch(() => undefined);
  await writeStateFile(paths.state, {
    status: "exited",
    startedAt,
    finishedAt: new Date().toISOString(),
    exitCode: outcome.exitCode,
    restartCount: restarts,
    ...(outcome.failure === undefined ? {} : { error: outcome.failure }),
  });
  if (record.autoRemove) {
    const { removeContainer } = await import("./remove-container.js");
    await removeContainer(worker, id, { force: true, volumes: true }).catch(() => undefined);
  }
  return outcome.exitCode;
}

interface RunOutcome {
  exitCode: number;
  /** Why the process could not run (the runtime's message). */
  failure?: string;
  /** The runtime could not start the process at all (a missing program, a bad working directory). */
  cannotStart?: boolean;
}

/** One run of the container's process, from the runtime's `run` to its exit. */
async function runOnce(options: { runtime: OciRuntime; record: ContainerRecord; paths: ContainerPaths; mode: ShimMode }): Promise<RunOutcome> {
  const { runtime, record, paths, mode } = options;
  const runtimeLog = join(paths.bundle, "runtime.log");
  await writeFile(runtimeLog, "");
  const { file, args } = runtime.command(["run", "--bundle", paths.bundle, record.runtimeId], runtimeLog);
  const terminalAttached = record.tty && mode === "attached";
  // Detached with -t, `script` gets a pipe that stays open: at the end of its stdin (/dev/null)
  // it would type the terminal's EOF character, a NUL once the runtime made that terminal raw,
  // which the container's console echoes into the log as "^@".
  const detachedTty = record.tty && mode === "detached";
  const stdin = record.interactive && mode === "attached" ? "inherit" : detachedTty ? "pipe" : "ignore";
  const log: WriteStream | undefined = terminalAttached ? undefined : createWriteStream(paths.log, { flags: "a" });
  log?.on("error", () => undefined);

  // A detached -t container needs a terminal for the runtime's console: util-linux `script`
  // gives it one and copies the output to the log (Node cannot receive a console socket's fd).
  const command = detachedTty ? { file: "script", args: ["-qefc", [file, ...args].map(shellQuote).join(" "), "/dev/null"] } : { file, args };
  const child = spawn(command.file, command.args, { stdio: terminalAttached ? "inherit" : [stdin, "pipe", "pipe"] });
  for (const stream of ["stdout", "stderr"] as const) {
    child[stream]?.on("data", (chunk: Buffer) => {
      log?.write(`${JSON.stringify({ log: chunk.toString("utf8"), stream, time: new Date().toISOString() })}\n`);
      if (mode === "attached") process[stream].write(chunk);
    });
  }
  const onResize = () => void resizeConsole(child, paths, detachedTty);
  if (record.tty) process.on("SIGWINCH", onResize);
  const { code, signal, error } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>((done) => {
    child.once("error", (error) => done({ code: null, signal: null, error }));
    child.once("close", (code, signal) => done({ code, signal }));
  });
  process.off("SIGWINCH", onResize);
  child.stdin?.destroy();
  if (log !== undefined) await new Promise<void>((done) => log.end(done));
  let exitCode = code ?? 128 + (signal === null ? 0 : (constants.signals[signal] ?? 0));
  const messages = runtimeLogMessages(await readFile(runtimeLog, "utf8").catch(() => ""));
  const execFailure = exitCode !== 0 ? messages.find((message) => /exec|executable|chdir/i.test(message)) : undefined;
  const failure = error?.message ?? execFailure ?? (exitCode !== 0 ? messages[0] : undefined);
  if (error !== undefined || execFailure !== undefined) {
    // docker's statuses for a command that cannot run: 127 not found, 126 not executable.
    exitCode = /not found|no such file/i.test(failure!) ? 127 : /permission denied/i.test(failure!) ? 126 : 125;
  }
  if (failure !== undefined && mode === "attached") process.stderr.write(`tsbuild: ${failure}\n`);
  // `run` deletes its container on exit; one left behind (a killed runtime) must not block a restart.
  if ((await runtimeStatus(runtime, record.runtimeId)) !== undefined) await runtime.delete(record.runtimeId);
  return { exitCode, ...(failure === undefined ? {} : { failure }), ...(error !== undefined || execFailure !== undefined ? { cannotStart: true } : {}) };
}

/**
 * A terminal resize (`resizeContainer`, or the attached caller's SIGWINCH): detached, the
 * size asked for is set on `script`'s terminal, whose change the kernel signals to the
 * runtime; attached, the runtime is signalled to copy the caller's terminal's size.
 */
async function resizeConsole(child: ChildProcess, paths: ContainerPaths, detachedTty: boolean): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null) return;
  if (detachedTty) await applyConsoleSize(child.pid, paths).catch(() => undefined); // best effort: the process may be ending
  else child.kill("SIGWINCH");
}

/** Points the network namespace of the bundle's config.json at the one the shim made. */
async function joinNetwork(bundle: string, namespacePath: string): Promise<void> {
  const file = join(bundle, "config.json");
  const spec = JSON.parse(await readFile(file, "utf8")) as RuntimeSpec;
  spec.linux.namespaces = [...spec.linux.namespaces.filter((namespace) => namespace.type !== "network"), { type: "network", path: namespacePath }];
  await writeFile(file, serializeRuntimeJson(spec));
}

function notifyCaller(exitCode: number): void {
  const notice = createWriteStream("", { fd: SHIM_NOTICE_FD });
  notice.on("error", () => undefined); // the caller is gone: nobody to tell
  notice.end(`exit ${exitCode}\n`);
}

/** Waits `ms` before a restart, or less when a stop is requested meanwhile (then true). */
async function stopRequestedWithin(path: string, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await exists(path)) return true;
    if (Date.now() >= deadline) return false;
    await sleep(Math.min(50, deadline - Date.now()));
  }
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/**
 * Keeps the container's ref record up to date for the store's disk usage: labelled running
 * while the process runs (its layer is not reclaimable), and the writable layer's size.
 */
async function markRunning(worker: Worker, record: ContainerRecord, running: boolean): Promise<void> {
  const ref = await worker.store.refs.get(REF_KINDS.container, record.id);
  if (ref === undefined) return;
  const labels = { ...(ref.labels ?? {}) };
  if (running) labels[RUNNING_LABEL] = "true";
  else delete labels[RUNNING_LABEL];
  const size = await (await worker.snapshotter()).usage(record.snapshotKey).then((usage) => usage.size, () => ref.size);
  await worker.store.refs.put(REF_KINDS.container, record.id, { blobs: ref.blobs, snapshots: ref.snapshots, labels, ...(size === undefined ? {} : { size }) });
}

function shellQuote(word: string): string {
  return `'${word.replace(/'/g, "'\\''")}'`;
}
