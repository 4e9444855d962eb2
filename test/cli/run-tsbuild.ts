import { spawn } from "node:child_process";
import { join } from "node:path";
import { builtRoot } from "../helpers/repo-root.js";

const main = join(builtRoot(), "cli", "main.js");

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the built CLI in `cwd`. `env` is laid over this process's environment; a key set to
 * undefined is removed from it (a test must not see the developer's SSH_AUTH_SOCK, say).
 */
export function runTsbuild(args: string[], cwd: string, env: Record<string, string | undefined> = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const merged: Record<string, string | undefined> = { ...process.env, SOURCE_DATE_EPOCH: "", ...env };
    for (const [key, value] of Object.entries(merged)) if (value === undefined) delete merged[key];
    const child = spawn(process.execPath, [main, ...args], { cwd, env: merged });
    child.stdin.end();
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
    child.on("error", reject);
    child.on("close", (status) => resolve({ status, stdout, stderr }));
  });
}
