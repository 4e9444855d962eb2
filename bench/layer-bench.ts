import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, mkdtemp, rm, rmdir, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { pathToFileURL } from "node:url";
import { createSnapshotter } from "../snapshotter/create-snapshotter.js";

export interface LayerBenchOptions {
  /** Total size of the generated tree. */
  sizeMB: number;
  /** A scratch directory; everything is made and removed inside it. */
  workDir: string;
}

export interface LayerBenchFigures {
  snapshotter: string;
  sizeMB: number;
  files: number;
  /** Our diff of the tree to a gzip layer. */
  diffSeconds: number;
  diffMBps: number;
  /** `tar -czf` of the same tree. */
  tarCreateSeconds: number;
  tarCreateMBps: number;
  /** Our apply of our layer into a new snapshot. */
  applySeconds: number;
  applyMBps: number;
  /** `tar -xzf` of tar's archive into an empty directory. */
  tarExtractSeconds: number;
  tarExtractMBps: number;
  layerBytes: number;
  tarBytes: number;
}

/**
 * Times our diff+gzip and apply against GNU tar on one tree of mixed files (many small
 * ones, some big incompressible and some big compressible ones), in the same run so the
 * ratios mean something on a shared machine.
 */
export async function benchLayers(opts: LayerBenchOptions): Promise<LayerBenchFigures> {
  const root = await mkdtemp(join(resolve(opts.workDir), "layer-bench-"));
  const mountPoint = join(root, "mnt");
  let mounted = false;
  const snapshotter = await createSnapshotter(join(root, "store"));
  try {
    await mkdir(mountPoint);
    await snapshotter.prepare("tree");
    await snapshotter.mount("tree", mountPoint);
    mounted = true;
    const files = await makeTree(mountPoint, opts.sizeMB * 1024 * 1024);
    const mb = opts.sizeMB;

    const layer = join(root, "layer.tar.gz");
    let started = performance.now();
    const written = await snapshotter.diff("tree", layer, { sourceDateEpoch: null });
    const diffSeconds = (performance.now() - started) / 1000;

    const tarFile = join(root, "tar.tar.gz");
    started = performance.now();
    execFileSync("tar", ["-C", mountPoint, "-czf", tarFile, "."]);
    const tarCreateSeconds = (performance.now() - started) / 1000;

    started = performance.now();
    await snapshotter.apply("applied", createReadStream(layer));
    const applySeconds = (performance.now() - started) / 1000;

    const extractDir = join(root, "extract");
    await mkdir(extractDir);
    started = performance.now();
    execFileSync("tar", ["-C", extractDir, "-xzf", tarFile]);
    const tarExtractSeconds = (performance.now() - started) / 1000;

    return {
      snapshotter: snapshotter.name,
      sizeMB: mb,
      files,
      diffSeconds: round(diffSeconds),
      diffMBps: round(mb / diffSeconds),
      tarCreateSeconds: round(tarCreateSeconds),
      tarCreateMBps: round(mb / tarCreateSeconds),
      applySeconds: round(applySeconds),
      applyMBps: round(mb / applySeconds),
      tarExtractSeconds: round(tarExtractSeconds),
      tarExtractMBps: round(mb / tarExtractSeconds),
      layerBytes: written.size,
      tarBytes: (await stat(tarFile)).size,
    };
  } finally {
    if (mounted) await snapshotter.unmount(mountPoint).catch(() => undefined);
    await rmdir(mountPoint).catch(() => undefined);
    await rm(root, { recursive: true, force: true });
  }
}

/** About 40% in small files (1-16 KiB), 30% big random files, 30% big repetitive ones. */
async function makeTree(dir: string, totalBytes: number): Promise<number> {
  let seed = 42;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  let files = 0;
  let small = 0;
  let bucket = 0;
  while (small < totalBytes * 0.4) {
    if (files % 100 === 0) await mkdir(join(dir, "small", String(++bucket)), { recursive: true });
    const size = 1024 + Math.floor(next() * 15 * 1024);
    await writeFile(join(dir, "small", String(bucket), `f${files}`), randomBytes(size));
    small += size;
    files++;
  }
  await mkdir(join(dir, "big"));
  const bigSize = Math.max(1, Math.floor((totalBytes * 0.3) / 4));
  const text = Buffer.from("tsbuild layer bench compressible line of text 0123456789\n");
  for (let i = 0; i < 4; i++) {
    await writeFile(join(dir, "big", `random-${i}`), randomBytes(bigSize));
    await writeFile(join(dir, "big", `text-${i}`), Buffer.alloc(bigSize, text));
    files += 2;
  }
  return files;
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

// Runnable directly: node dist/bench/layer-bench.js [--size-mb N] [--work-dir DIR]
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const args = process.argv.slice(2);
  const value = (flag: string) => {
    const at = args.indexOf(flag);
    return at >= 0 ? args[at + 1] : undefined;
  };
  const sizeMB = Number(value("--size-mb") ?? 64);
  const workDir = value("--work-dir") ?? tmpdir();
  benchLayers({ sizeMB, workDir }).then(
    (figures) => console.log(JSON.stringify(figures, null, 2)),
    (error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}
