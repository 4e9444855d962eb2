import { spawn } from "node:child_process";
import { TsbuildError } from "../errors.js";
import { runServed } from "../util/command-server.js";

export interface RunCommandOptions {
  cwd?: string;
  /** Bytes written to the program's standard input. */
  input?: string | Buffer;
  /** Exit statuses that are not failures. Default [0]. */
  okStatuses?: number[];
  /** False when the caller does not read stdout (util/command-server.ts then keeps no files on success). */
  output?: boolean;
}

export interface CommandResult {
  stdout: Buffer;
  stderr: string;
  status: number;
}

/**
 * Runs a system program (mount, getfattr, cp ...) and collects its output; a missing
 * program or a failing status is a SYSTEM error quoting its stderr. Without input it runs
 * through the process's command shell (util/command-server.ts), which spares a fork of Node.
 */
export async function runCommand(program: string, args: string[], options: RunCommandOptions = {}): Promise<CommandResult> {
  if (options.input !== undefined) return spawnCommand(program, args, options);
  const served = await runServed(program, args, { ...(options.cwd === undefined ? {} : { cwd: options.cwd }), ...(options.output === false ? { output: false } : {}) });
  if (served.status === "not-found") throw notFound(program);
  return checked(program, args, { stdout: served.stdout, stderr: served.stderr, status: served.status }, options);
}

function notFound(program: string, cause?: Error): TsbuildError {
  return new TsbuildError("SYSTEM", `Cannot run "${program}": program not found`, { ...(cause === undefined ? {} : { cause }), hint: `Install the package that provides "${program}"` });
}

function checked(program: string, args: string[], result: CommandResult, options: RunCommandOptions): CommandResult {
  if ((options.okStatuses ?? [0]).includes(result.status)) return result;
  throw new TsbuildError("SYSTEM", `Cannot run "${program} ${args.join(" ").slice(0, 200)}": exit status ${result.status}: ${result.stderr.trim().slice(0, 2000)}`);
}

/** With input: a process of its own, fed through a pipe. */
function spawnCommand(program: string, args: string[], options: RunCommandOptions): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { cwd: options.cwd, stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => out.push(chunk));
    child.stderr.setEncoding("utf8").on("data", (text: string) => (stderr += text));
    child.on("error", (error: NodeJS.ErrnoException) => {
      reject(error.code === "ENOENT" ? notFound(program, error) : new TsbuildError("SYSTEM", `Cannot run "${program}": ${error.message}`, { cause: error }));
    });
    child.stdin.on("error", () => undefined); // the program may exit before reading all input
    child.on("close", (status) => {
      try {
        resolve(checked(program, args, { stdout: Buffer.concat(out), stderr, status: status ?? -1 }, options));
      } catch (error) {
        reject(error);
      }
    });
    child.stdin.end(options.input ?? "");
  });
}
