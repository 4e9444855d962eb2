import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { constants } from "node:os";
import { TsbuildError } from "../errors.js";
import { createContainerProcess, openContainerRuntime } from "../executor/container-runtime.js";
import type { OutputStream } from "../executor/types.js";
import type { Worker } from "../worker/worker.js";
import { containerPaths, findContainer } from "./container-record.js";
import { containerState } from "./container-state.js";
import { serializeRuntimeJson } from "../executor/runtime-spec.js";

export interface ExecContainerOptions {
  args: string[];
  /** `KEY=value` over the container's Env. */
  env?: string[];
  /** Default: the container's working directory. */
  cwd?: string;
  /** Default: the container's user. */
  user?: string;
  /** Give the process a terminal; with `inheritStdio`, this process's. */
  tty?: boolean;
  /** Keep stdin open (this process's, with `inheritStdio`). */
  interactive?: boolean;
  /** Use this process's stdin (for -i) and, for -t, its terminal, as the CLI does. */
  inheritStdio?: boolean;
  onOutput?: (stream: OutputStream, chunk: Buffer) => void;
  /** Start it and return at once (docker's exec -d). */
  detach?: boolean;
}

/**
 * docker's `exec`: runs another process in a running container (the runtime's `exec`,
 * joining its namespaces), with the container's Env, working directory and user unless
 * given, and resolves with its exit status. CONFLICT when the container does not run.
 */
export async function execInContainer(worker: Worker, text: string, options: ExecContainerOptions): Promise<number> {
  const record = await findContainer(worker, text);
  const { runtime } = await openContainerRuntime(worker.root);
  if (!(await containerState(record, { root: worker.root, runtime })).running) {
    throw new TsbuildError("CONFLICT", `Cannot exec in container "${text}": it is not running`, { hint: `Start it with "tsbuild start ${record.name}"` });
  }
  if (options.args.length === 0) throw new TsbuildError("USAGE", "Cannot exec: no command given");
  const paths = containerPaths(worker.root, record.id);
  const proc = await createContainerProcess(paths.rootfs, {
    args: options.args,
    env: [`HOSTNAME=${record.hostname}`, ...record.env, ...(options.env ?? [])],
    cwd: options.cwd ?? record.cwd,
    user: options.user ?? record.user,
    terminal: options.tty === true,
  });
  const processFile = join(paths.bundle, `exec-${randomBytes(6).toString("hex")}.json`);
  await writeFile(processFile, serializeRuntimeJson(proc));
  try {
    const inherit = options.inheritStdio === true;
    const argv = ["exec", "--process", processFile, ...(options.detach === true ? ["--detach"] : []), record.runtimeId];
    const { file, args } = runtime.command(argv);
    const stdio: Array<"inherit" | "ignore" | "pipe"> =
      options.tty === true && inherit ? ["inherit", "inherit", "inherit"] : [options.interactive === true && inherit ? "inherit" : "ignore", "pipe", "pipe"];
    const child = spawn(file, args, { stdio });
    let stderr = "";
    for (const stream of ["stdout", "stderr"] as const) {
      child[stream]?.on("data", (chunk: Buffer) => {
        if (stream === "stderr") stderr = (stderr + chunk.toString("utf8")).slice(-4096);
        try {
          options.onOutput?.(stream, chunk);
        } catch {
          // A listener's bug must not lose the exit status.
        }
      });
    }
    const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
      child.once("error", (error) => reject(new TsbuildError("SYSTEM", `Cannot start OCI runtime "${runtime.path}": ${error.message}`, { cause: error })));
      child.once("close", (code, signal) => resolve({ code, signal }));
    });
    const status = code ?? 128 + (signal === null ? 0 : (constants.signals[signal] ?? 0));
    // The runtime's own failure to exec (a missing program) reads like docker's 126/127.
    if (status !== 0 && /executable file not found|no such file or directory/i.test(stderr) && /exec/.test(stderr)) return 127;
    return status;
  } finally {
    await rm(processFile, { force: true });
  }
}
