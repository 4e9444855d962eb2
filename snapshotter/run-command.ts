import { spawn } from "node:child_process";
import { TsbuildError } from "../errors.js";

export interface RunCommandOptions {
  cwd?: string;
  /** Bytes written to the program's standard input. */
  input?: string | Buffer;
  /** Exit statuses that are not failures. Default [0]. */
  okStatuses?: number[];
}

export interface CommandResult {
  stdout: Buffer;
  stderr: string;
  status: number;
}

/**
 * Runs a system program (mount, getfattr, cp ...) and collects its output; a missing
 * program or a failing status is a SYSTEM error quoting its stderr.
 */
export function runCommand(program: string, args: string[], options: RunCommandOptions = {}): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { cwd: options.cwd, stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => out.push(chunk));
    child.stderr.setEncoding("utf8").on("data", (text: string) => (stderr += text));
    child.on("error", (error: NodeJS.ErrnoException) => {
      reject(
        new TsbuildError("SYSTEM", `Cannot run "${program}": ${error.code === "ENOENT" ? "program not found" : error.message}`, {
          cause: error,
          hint: error.code === "ENOENT" ? `Install the package that provides "${program}"` : undefined,
        }),
      );
    });
    child.stdin.on("error", () => undefined); // the program may exit before reading all input
    child.on("close", (status) => {
      const result = { stdout: Buffer.concat(out), stderr, status: status ?? -1 };
      if ((options.okStatuses ?? [0]).includes(result.status)) resolve(result);
      else {
        reject(
          new TsbuildError("SYSTEM", `Cannot run "${program} ${args.join(" ").slice(0, 200)}": exit status ${result.status}: ${stderr.trim().slice(0, 2000)}`),
        );
      }
    });
    child.stdin.end(options.input ?? "");
  });
}
