import { spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { builtRoot } from "./repo-root.js";

const main = join(builtRoot(), "cli", "main.js");

/**
 * Runs the CLI armed to SIGKILL itself at crash point `point` (util/crash-point.ts: the N-th
 * point, or a point's name), or at its exit if it never gets there: the kill lands at the
 * same place on a fast or a slow machine. Resolves to how the process ended and where.
 */
export async function runAndKill(args: string[], point: number | string, env: NodeJS.ProcessEnv, cwd?: string): Promise<{ ended: string; at: string; stderr: string }> {
  const child = spawn(process.execPath, [main, ...args], { env: { ...env, TSBUILD_CRASH_AT: String(point) }, stdio: ["ignore", "ignore", "pipe"], cwd });
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const [code, signal] = (await once(child, "close")) as [number | null, NodeJS.Signals | null];
  return { ended: String(signal ?? code), at: /crash point (\S+)/.exec(stderr)?.[1] ?? `none: ${stderr.trim()}`, stderr };
}
