import { spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { readFile } from "node:fs/promises";
import { constants } from "node:os";
import { join } from "node:path";
import { openContainerRuntime } from "../executor/container-runtime.js";
import { runtimeLogMessages } from "../executor/runtime-log.js";
import { RUNNING_LABEL } from "../store/disk-usage.js";
import { currentProcess } from "../store/process-identity.js";
import { REF_KINDS } from "../store/ref-store.js";
import type { Worker } from "../worker/worker.js";
import { containerPaths, type ContainerRecord } from "./container-record.js";
import { runtimeStatus, writeStateFile } from "./container-state.js";

/** How the shim's caller watches: attached (its stdio are the caller's) or detached (a log only). */
export type ShimMode = "attached" | "detached";

/**
 * The process that stays with a container for its whole life, as containerd's shim does:
 * it runs the runtime's foreground `run`, writes the output to the container's log (docker's
 * json-file lines) and, attached, to its own stdout and stderr, then records the exit code
 * in `state.json` and, for `--rm`, removes the container. It runs in a session of its own,
 * so it outlives the tsbuild that started it; its exit status is the container's.
 */
export async function runShim(root: string, id: string, options: { mode: ShimMode }): Promise<number> {
  const { mode } = options;
  const paths = containerPaths(root, id);
  const record = JSON.parse(await readFile(paths.record, "utf8")) as ContainerRecord;
  const { runtime } = await openContainerRuntime(root);
  const startedAt = new Date().toISOString();
  await writeStateFile(containerPaths(root, id).state, { status: "running", shim: currentProcess(), startedAt });

  const runtimeLog = join(paths.bundle, "runtime.log");
  const { file, args } = runtime.command(["run", "--bundle", paths.bundle, record.runtimeId], runtimeLog);
  const terminalAttached = record.tty && mode === "attached";
  // Detached with -t, `script` gets a pipe that stays open: at the end of its stdin (/dev/null)
  // it would type the terminal's EOF character, a NUL once the runtime made that terminal raw,
  // which the container's console echoes into the log as "^@".
  const detachedTty = record.tty && mode === "detached";
  const stdin = record.interactive && mode === "attached" ? "inherit" : detachedTty ? "pipe" : "ignore";
  const log = terminalAttached ? undefined : createWriteStream(paths.log, { flags: "a" });
  log?.on("error", () => undefined);
  // An attached caller may be gone (killed): its pipes then fail, and the log goes on.
  process.stdout.on("error", () => undefined);
  process.stderr.on("error", () => undefined);

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
  const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>((done) => {
    child.once("error", (error) => done({ code: null, signal: null, error }));
    child.once("close", (code, signal) => done({ code, signal }));
  });
  const { openWorker } = await import("../worker/worker.js");
  const worker = await openWorker({ root });
  const marked = markRunning(worker, record, true).catch(() => undefined);
  const { code, signal, error } = await ended;
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
  await marked;
  // The ref first: whoever sees the exit in state.json then finds the ref up to date too.
  if (!record.autoRemove) await markRunning(worker, record, false).catch(() => undefined);
  await writeStateFile(containerPaths(root, id).state, {
    status: "exited",
    startedAt,
    finishedAt: new Date().toISOString(),
    exitCode,
    ...(failure === undefined ? {} : { error: failure }),
  });
  if (record.autoRemove) {
    const { removeContainer } = await import("./remove-container.js");
    await removeContainer(worker, id, { force: true, volumes: true }).catch(() => undefined);
  }
  return exitCode;
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
