import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { build } from "../build/build.js";
import { makeBusyboxRootfs } from "../test/helpers/busybox-rootfs.js";
import { importRootfs, openWorker, saveImages } from "../worker/index.js";

export interface BuildBenchOptions {
  /** Files in the context (default 20,000, as the target). */
  files?: number;
  /** Size of each file in KiB (default 10: a 200 MB context). */
  fileKiB?: number;
  /** Scratch directory; everything is made and removed inside it. */
  workDir?: string;
}

/** Wall times in ms of the three builds, for one builder. */
export interface BuilderFigures {
  builder: string;
  coldMs: number;
  noopMs: number;
  oneFileMs: number;
}

export interface BuildBenchFigures {
  files: number;
  contextMB: number;
  results: BuilderFigures[];
}

const DOCKERFILE = "FROM busybox\nCOPY . /ctx\nRUN find /ctx -type f | wc -l > /count\n";

/**
 * Cold build, no-op rebuild and rebuild after one changed file over a large context, for
 * tsbuild and, in the same run, for BuildKit (a running docker daemon) and buildah when
 * they are there, so the ratios are taken under one machine load.
 */
export async function benchBuild(options: BuildBenchOptions = {}): Promise<BuildBenchFigures> {
  const files = options.files ?? 20_000;
  const fileKiB = options.fileKiB ?? 10;
  const work = await mkdtemp(join(options.workDir ?? tmpdir(), "tsbuild-build-bench-"));
  try {
    const context = join(work, "context");
    await makeContext(context, files, fileKiB);
    const baseTar = join(work, "busybox.tar");
    await makeBusyboxTar(work, baseTar);

    const results: BuilderFigures[] = [];
    results.push(await timeBuilder("tsbuild", context, await tsbuildBuilder(work, baseTar, context)));
    const archive = join(work, "busybox-image.tar");
    const worker = await openWorker({ root: join(work, "root") });
    await saveImages(worker, ["busybox:latest"], { output: archive });
    if (dockerWorks()) results.push(await timeBuilder("buildkit (docker)", context, dockerBuilder(archive, context)));
    if (has("buildah")) results.push(await timeBuilder("buildah", context, buildahBuilder(work, archive, context)));
    return { files, contextMB: (files * fileKiB) / 1024, results };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

type Builder = () => Promise<void>;

async function timeBuilder(name: string, context: string, run: Builder): Promise<BuilderFigures> {
  const time = async () => {
    const start = performance.now();
    await run();
    return performance.now() - start;
  };
  const coldMs = await time();
  const noopMs = await time();
  await writeFile(join(context, "d0", "f0"), `changed for ${name} ${Date.now()}\n`);
  const oneFileMs = await time();
  return { builder: name, coldMs, noopMs, oneFileMs };
}

async function tsbuildBuilder(work: string, baseTar: string, context: string): Promise<Builder> {
  const root = join(work, "root");
  await importRootfs(await openWorker({ root }), baseTar, { name: "busybox:latest" });
  return async () => {
    await build({ context, root, tags: ["bench:latest"] });
  };
}

function dockerBuilder(archive: string, context: string): Builder {
  execFileSync("docker", ["load", "-i", archive], { stdio: "ignore" });
  return async () => {
    execFileSync("docker", ["build", "--network=host", "-q", "-t", "tsbuild-bench:latest", context], { stdio: "ignore", env: { ...process.env, DOCKER_BUILDKIT: "1" } });
  };
}

function buildahBuilder(work: string, archive: string, context: string): Builder {
  const store = ["--root", join(work, "buildah", "root"), "--runroot", join(work, "buildah", "run"), "--storage-driver", "overlay"];
  execFileSync("buildah", [...store, "pull", `docker-archive:${archive}`], { stdio: "ignore" });
  execFileSync("buildah", [...store, "tag", "busybox:latest", "localhost/busybox:latest"], { stdio: "ignore" });
  return async () => {
    execFileSync("buildah", [...store, "bud", "--layers", "--pull-never", "--isolation", "oci", "--runtime", "runc", "--network=host", "-q", "-t", "bench", context], { stdio: "ignore" });
  };
}

async function makeContext(dir: string, files: number, fileKiB: number): Promise<void> {
  const perDir = 100;
  for (let d = 0; d * perDir < files; d++) {
    await mkdir(join(dir, `d${d}`), { recursive: true });
    const writes: Promise<void>[] = [];
    for (let f = 0; f < perDir && d * perDir + f < files; f++) writes.push(writeFile(join(dir, `d${d}`, `f${f}`), randomBytes(fileKiB * 1024)));
    await Promise.all(writes);
  }
  await writeFile(join(dir, "Dockerfile"), DOCKERFILE);
}

async function makeBusyboxTar(work: string, tar: string): Promise<void> {
  const rootfs = join(work, "rootfs");
  await mkdir(rootfs);
  await makeBusyboxRootfs(rootfs);
  execFileSync("tar", ["--numeric-owner", "-C", rootfs, "-cf", tar, "."]);
}

function has(program: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${program}`], { stdio: "ignore" }).status === 0;
}

/** BuildKit is measured only against a daemon that is already running (see shared/PEERS.md). */
function dockerWorks(): boolean {
  return has("docker") && spawnSync("docker", ["info"], { stdio: "ignore", timeout: 5000 }).status === 0;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const files = Number(process.argv[2] ?? 20_000);
  const figures = await benchBuild({ files });
  process.stdout.write(`${JSON.stringify(figures, null, 2)}\n`);
}
