import { execFileSync } from "node:child_process";
import { chmod, mkdir, symlink, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { build, type BuildOptions, type BuildResult } from "../../build/build.js";
import { openBuildRoot, type BuildRoot } from "../solver/build-fixture.js";

/**
 * Helpers for tests ported from BuildKit's frontend/dockerfile/*_test.go (moby/buildkit at
 * 73ed6825). Each ported test names the Go test it comes from and asserts what that test
 * asserts, on a busybox base (busybox:latest in a fresh store) instead of docker.io images.
 */

/** A file of a test context: text or bytes (mode 0600, as BuildKit's fstest.CreateFile), or a special entry. */
export type ContextEntry =
  | string
  | Buffer
  | { data: string | Buffer; mode: number }
  | { symlink: string }
  | { dir: number }
  | { socket: number };

export type ContextFiles = Record<string, ContextEntry>;

/** The options a ported test passes on to build(), besides its context. */
export type PortedBuildOptions = Omit<BuildOptions, "context" | "worker" | "output"> & { output?: BuildOptions["output"] };

/** A uvu suite with one build root for all its tests (busybox:latest imported once). */
export function portedSuite(name: string): { test: ReturnType<typeof suite>; root: () => BuildRoot } {
  const test = suite(name);
  let opened: Awaited<ReturnType<typeof openBuildRoot>> | undefined;
  test.before(async () => {
    opened = await openBuildRoot();
  });
  test.after(async () => {
    await opened?.close();
  });
  return {
    test,
    root: () => {
      if (opened === undefined) throw new Error("The build root is not open");
      return opened;
    },
  };
}

let contexts = 0;

/** Writes `files` into a new directory of `root` and returns it (BuildKit's integration.Tmpdir). */
export async function makeContext(root: BuildRoot, files: ContextFiles): Promise<string> {
  const dir = join(root.dir, "ported", String(++contexts));
  await mkdir(dir, { recursive: true });
  for (const [name, entry] of Object.entries(files)) {
    const path = join(dir, name);
    await mkdir(dirname(path), { recursive: true });
    if (typeof entry === "string" || Buffer.isBuffer(entry)) {
      await writeFile(path, entry, { mode: 0o600 });
    } else if ("data" in entry) {
      await writeFile(path, entry.data);
      await chmod(path, entry.mode);
    } else if ("symlink" in entry) {
      await symlink(entry.symlink, path);
    } else if ("dir" in entry) {
      await mkdir(path, { recursive: true });
      await chmod(path, entry.dir);
    } else {
      // A process that exits while listening leaves its socket file behind (close() would unlink it).
      execFileSync(process.execPath, ["-e", "require('node:net').createServer().listen(process.argv[1], () => process.exit(0))", path]);
      await chmod(path, entry.socket);
    }
  }
  return dir;
}

/** Builds `files` (or a context directory) and exports the result to a new local directory. */
export async function buildLocal(root: BuildRoot, files: ContextFiles | string, options: PortedBuildOptions = {}): Promise<{ out: string; result: BuildResult }> {
  const context = typeof files === "string" ? files : await makeContext(root, files);
  const out = join(root.dir, "out", String(++contexts));
  const result = await build({ ...options, context, worker: root.worker, output: options.output ?? { type: "local", dest: out } });
  return { out, result };
}

/** Builds `files` (or a context directory) into an image in the store. */
export async function buildImage(root: BuildRoot, files: ContextFiles | string, options: PortedBuildOptions = {}): Promise<BuildResult> {
  const context = typeof files === "string" ? files : await makeContext(root, files);
  return build({ ...options, context, worker: root.worker });
}

/** Builds and expects a failure; returns its message (first line first, hint after). */
export async function buildError(root: BuildRoot, files: ContextFiles | string, options: PortedBuildOptions = {}): Promise<string> {
  const context = typeof files === "string" ? files : await makeContext(root, files);
  try {
    await build({ ...options, context, worker: root.worker });
  } catch (error) {
    const hint = (error as { hint?: string }).hint;
    return `${(error as Error).message}${hint === undefined ? "" : `\n${hint}`}`;
  }
  assert.unreachable("the build should have failed");
  return "";
}

/** `path type mode uid:gid` for everything under `dir`, sorted (find -printf). */
export function listing(dir: string): string[] {
  const out = execFileSync("find", [".", "-mindepth", "1", "-printf", "%P %y %m %U:%G\\n"], { cwd: dir, encoding: "utf8" }).trim();
  return out === "" ? [] : out.split("\n").sort();
}
