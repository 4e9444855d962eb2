import { execFileSync, spawnSync } from "node:child_process";
import { mkdtemp, readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { builtRoot } from "../helpers/repo-root.js";
import { cleanupRoot, mountsUnder } from "../snapshotter/tree-fixtures.js";
import { busyboxTar } from "../worker/worker-fixture.js";

/** Helpers of the container tests: a temp root with a busybox image, the CLI, and a clean-up that kills every container. */

export const MAIN = join(builtRoot(), "cli", "main.js");

export interface CliRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI on `root` and collects its output. */
export function tsbuild(root: string, args: string[], options: CliOptions = {}): CliRun {
  // --root right after the command's words: run and exec take everything after the image as its command line.
  const words = args[0] === "volume" ? 2 : 1;
  const argv = [MAIN, ...args.slice(0, words), "--root", root, ...args.slice(words)];
  const [file, ...prefix] = [...(options.prefix ?? []), process.execPath];
  const result = spawnSync(file, [...prefix, ...argv], {
    input: options.input ?? "",
    encoding: "utf8",
    env: { ...process.env, TSBUILD_SNAPSHOTTER: "overlayfs", ...options.env },
    timeout: options.timeoutMs ?? 60_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

export interface CliOptions {
  input?: string;
  env?: Record<string, string>;
  timeoutMs?: number;
  /** Words before `node` (e.g. an `nsenter` into a network namespace of the test's). */
  prefix?: string[];
}

/** Like `tsbuild`, but throws with stderr unless it exits 0; returns stdout. */
export function tsbuildOk(root: string, args: string[], options: CliOptions = {}): string {
  const result = tsbuild(root, args, options);
  if (result.status !== 0) throw new Error(`tsbuild ${args.join(" ")} exited ${result.status}: ${result.stderr}`);
  return result.stdout;
}

/** The runtime state directories of a root (one per runtime). */
async function runtimeStateDirs(root: string): Promise<string[]> {
  const names = await readdir(join(root, "runtime")).catch(() => [] as string[]);
  return names.filter((name) => name.startsWith("containers-")).map((name) => join(root, "runtime", name));
}

/** Ids of the runtime's containers under `root`. */
export async function runtimeContainers(root: string): Promise<string[]> {
  const ids: string[] = [];
  for (const state of await runtimeStateDirs(root)) {
    const runtime = state.endsWith("crun") ? "crun" : "runc";
    const out = spawnSync(runtime, ["--root", state, "list", "-q"], { encoding: "utf8" }).stdout ?? "";
    ids.push(...out.split("\n").filter((line) => line.trim() !== ""));
  }
  return ids;
}

let baseRoot: Promise<string> | undefined;

/**
 * One root with `bb:1` imported per test process (removed at exit): each test's root starts
 * as a copy of it, instead of building and importing busybox again (a root holds no absolute paths).
 */
function sharedBaseRoot(): Promise<string> {
  baseRoot ??= (async () => {
    const dir = await mkdtemp(join(tmpdir(), "tsbuild-ctr-base-"));
    process.once("exit", () => spawnSync("rm", ["-rf", dir]));
    tsbuildOk(join(dir, "root"), ["import", await busyboxTar(dir), "bb:1"]);
    return join(dir, "root");
  })();
  return baseRoot;
}

/**
 * Runs `fn` with a temp dir holding a root (`<dir>/root`) with the busybox image `bb:1`.
 * Afterwards, even when it failed: every container of the root is killed and deleted, its
 * shims are gone, nothing stays mounted and the dir is removed.
 */
export async function withContainerRoot(fn: (root: string, dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "tsbuild-ctr-"));
  const root = join(dir, "root");
  try {
    execFileSync("cp", ["-a", await sharedBaseRoot(), root]);
    await fn(root, dir);
  } finally {
    await removeContainerRoot(dir, root);
  }
}

/** Kills and deletes every container of `root` (a root under `dir`), waits for its shims, unmounts and removes `dir`. */
export async function removeContainerRoot(dir: string, root: string): Promise<void> {
  for (const state of await runtimeStateDirs(root)) {
    const runtime = state.endsWith("crun") ? "crun" : "runc";
    const ids = (spawnSync(runtime, ["--root", state, "list", "-q"], { encoding: "utf8" }).stdout ?? "").split("\n").filter((l) => l.trim() !== "");
    for (const id of ids) spawnSync(runtime, ["--root", state, "delete", "-f", id]);
  }
  // Shims of this root end once their container is gone; wait for them so nothing writes into a removed dir.
  for (let i = 0; i < 100 && shimsOf(root).length > 0; i++) await new Promise((done) => setTimeout(done, 50));
  for (const pid of shimsOf(root)) process.kill(pid, "SIGKILL");
  await cleanupRoot(dir);
}

/** Pids of the shim processes serving containers of `root`. */
export function shimsOf(root: string): number[] {
  const out = spawnSync("pgrep", ["-f", `shim-main.js ${root} `], { encoding: "utf8" }).stdout ?? "";
  return out.split("\n").filter((line) => line.trim() !== "").map(Number);
}

/** Mount points left under `dir`. */
export async function mountsLeft(dir: string): Promise<string[]> {
  return mountsUnder(dir);
}

/** Runs a command on the host and returns its stdout. */
export function host(program: string, args: string[]): string {
  return execFileSync(program, args, { encoding: "utf8" });
}
