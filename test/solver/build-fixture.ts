import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { cp, mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { listMountPoints } from "../../snapshotter/mount-table.js";
import { runCommand } from "../../snapshotter/run-command.js";
import { openBuildWorker } from "../../solver/open-build-worker.js";
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

/** The directories `withBuildRoot` made in this process (other processes' tests use the same prefix). */
export const buildRootDirs = new Set<string>();

/** Runs `fn` with a fresh build root; unmounts and removes everything afterwards, even when it fails. */
export async function withBuildRoot<T>(fn: (root: BuildRoot) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), "tsb-solver-"));
  buildRootDirs.add(dir);
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
    return await fn({
      dir,
      worker,
      runs: () => runs,
      events,
      fixture: async (name) => {
        const target = join(dir, "contexts", name);
        await cp(fixturesDir(name), target, { recursive: true, verbatimSymlinks: true });
        return target;
      },
    });
  } finally {
    const points = [...(await listMountPoints())].filter((p) => p.startsWith(`${dir}/`));
    for (const point of points.sort((a, b) => b.length - a.length)) await runCommand("umount", [point]).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
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
