import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { cp, mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { listMountPoints } from "../../snapshotter/mount-table.js";
import { runCommand } from "../../snapshotter/run-command.js";
import { openBuildWorker } from "../../build/open-build-worker.js";
import type { ProgressEvent, Worker } from "../../solver/types.js";
import { importRootfs } from "../../worker/import-rootfs.js";
import { makeBusyboxRootfs } from "../helpers/busybox-rootfs.js";
import { repoRoot } from "../helpers/repo-root.js";

/** A temp root with busybox:latest in its store, a solver worker over it, and a counter of containers started. */
export interface BuildRoot {
  dir: string;
  worker: Worker;
  /** How many processes the executor started so far. */
  runs(): number;
  /** A copy of `fixtures/<name>` to build (tests may change it). */
  fixture(name: string): Promise<string>;
  /** Collects progress events of a build. */
  events: ProgressEvent[];
}

let busyboxTar: Promise<string> | undefined;

/** One busybox rootfs tar per process, shared by the tests (made in the OS temp dir, removed at exit). */
function busybox(): Promise<string> {
  busyboxTar ??= (async () => {
    const dir = await mkdtemp(join(tmpdir(), "tsb-busybox-"));
    process.once("exit", () => execFileSync("rm", ["-rf", dir]));
    const rootfs = join(dir, "rootfs");
    await mkdir(rootfs);
    await makeBusyboxRootfs(rootfs);
    const tar = join(dir, "rootfs.tar");
    execFileSync("tar", ["--numeric-owner", "-C", rootfs, "-cf", tar, "."]);
    return tar;
  })();
  return busyboxTar;
}

/** The build roots this process made: other processes (other checkouts' tests) make their own. */
const madeRoots = new Set<string>();

/** Mount points under any build root this process made. */
export async function mountsOfThisProcess(): Promise<string[]> {
  return [...(await listMountPoints())].filter((p) => [...madeRoots].some((dir) => p.startsWith(`${dir}/`)));
}

/** Runs `fn` with a fresh build root; unmounts and removes everything afterwards, even when it fails. */
export async function withBuildRoot<T>(fn: (root: BuildRoot) => Promise<T>): Promise<T> {
  const root = await openBuildRoot();
  try {
    return await fn(root);
  } finally {
    await root.close();
  }
}

/**
 * A fresh build root for several tests (a suite's `before`), closed by `close()` (its
 * `after`): unmounts what is mounted under it and removes it, even when opening failed half way.
 */
export async function openBuildRoot(): Promise<BuildRoot & { close(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "tsb-solver-"));
  madeRoots.add(dir);
  const close = async () => {
    const points = [...(await listMountPoints())].filter((p) => p.startsWith(`${dir}/`));
    for (const point of points.sort((a, b) => b.length - a.length)) await runCommand("umount", [point]).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const tempDir = join(dir, "tmp");
    await mkdir(tempDir);
    const opened = await openBuildWorker({ root: join(dir, "root"), snapshotter: "overlayfs", tempDir });
    const { worker: base } = opened;
    // A fixed date, so two roots hold the same base image (reproducibility tests compare them).
    await importRootfs(opened.root, await busybox(), { name: "busybox:latest", created: new Date("2020-01-01T00:00:00Z") });
    let runs = 0;
    const worker: Worker = {
      ...base,
      executor: {
        run: (rootfs, proc, options) => {
          runs += 1;
          return base.executor.run(rootfs, proc, options);
        },
      },
    };
    const events: ProgressEvent[] = [];
    return {
      dir,
      worker,
      runs: () => runs,
      events,
      fixture: async (name) => {
        const target = join(dir, "contexts", name);
        await cp(fixturesDir(name), target, { recursive: true, verbatimSymlinks: true });
        return target;
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/** `fixtures/<name>` of the checkout (tests may run from a build directory outside it). */
function fixturesDir(name: string): string {
  const candidates = [join(repoRoot(), "fixtures", name), join(process.cwd(), "fixtures", name)];
  const found = candidates.find((path) => existsSync(path));
  if (found === undefined) throw new Error(`No fixture "${name}" in ${candidates.join(" or ")}`);
  return found;
}

/** Mount points under `dir` right now. */
export async function mountsUnder(dir: string): Promise<string[]> {
  return [...(await listMountPoints())].filter((p) => p.startsWith(`${dir}/`));
}
