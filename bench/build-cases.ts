import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { makeBusyboxRootfs } from "../test/helpers/busybox-rootfs.js";
import { repoRoot } from "../test/helpers/repo-root.js";
import { importRootfs, openWorker } from "../worker/index.js";
import { dockerInstalled, startPeerDocker, type PeerDocker } from "./peer-docker.js";

/** The cases of issue 12, each with the ratio (tsbuild ÷ BuildKit) it must reach. */
export const BUILD_CASES = [
  { id: "per-run", title: "per-RUN overhead ((21 RUNs - 1 RUN) / 20)", target: 0.8 },
  { id: "run20-cold", title: "20 RUN steps, cold", target: 0.8 },
  { id: "run20-noop", title: "the same, nothing changed (no-op rebuild)", target: 2.0 },
  { id: "stages-cold", title: "3 independent stages, cold", target: 0.8 },
  { id: "context-cold", title: "20,000-file 200 MB context: cold", target: 0.9 },
  { id: "context-warm", title: "same, warm (nothing changed)", target: 1.0 },
  { id: "context-one", title: "same, one file edited", target: 0.5 },
  { id: "big-layer", title: "one RUN writing 500 MB of urandom", target: 1.0 },
] as const;

export type BuildCaseId = (typeof BUILD_CASES)[number]["id"];

export interface BuildCasesOptions {
  /** Samples per figure (the median is reported). Default 3. */
  runs?: number;
  /** Files in the large context (10 KiB each). Default 20,000. */
  contextFiles?: number;
  /** Size of the large layer, MiB. Default 500. */
  layerMiB?: number;
  /** Only these cases. */
  only?: ReadonlySet<BuildCaseId>;
  /** Leave BuildKit out even when docker is installed. */
  noDocker?: boolean;
  /** Write a V8 CPU profile of every tsbuild build into this directory (`node --cpu-prof`). */
  cpuProfDir?: string;
  workDir?: string;
  /** Called with each line of progress (what is being measured now). */
  onProgress?: (text: string) => void;
}

/** Median seconds per builder for one case; ratio = tsbuild ÷ BuildKit. */
export interface BuildCaseFigure {
  id: BuildCaseId;
  title: string;
  target: number;
  tsbuildSeconds: number;
  buildkitSeconds?: number;
  ratio?: number;
}

export interface BuildCasesFigures {
  cases: BuildCaseFigure[];
  /** Peak RSS of the tsbuild process in the large-layer case, MiB (highest of its samples). */
  bigLayerPeakRssMiB?: number;
  /** tsbuild's 20 RUN steps cold with `--network=host` and with its default network (medians, seconds). */
  defaultNetwork?: { hostSeconds: number; defaultSeconds: number };
  /** Why BuildKit is missing, when it is. */
  buildkitNote?: string;
}

/** One builder as the cases drive it. */
interface Builder {
  name: string;
  /** Forgets every cached step and context (the base image stays). */
  reset(): Promise<void>;
  /** Builds `context` (its Dockerfile) and returns the wall time in seconds. */
  build(context: string, options?: { dockerfile?: string; peakRss?: (mib: number) => void; network?: "host" | "default" }): Promise<number>;
}

const BASE = "bench-base:1";

/**
 * The build cases of issue 12 for tsbuild (its CLI, as a user runs it) and, in the same run
 * and interleaved sample by sample, docker's BuildKit on a dockerd this bench starts and
 * stops itself (see peer-docker.ts), so both see the same machine load.
 */
export async function benchBuildCases(options: BuildCasesOptions = {}): Promise<BuildCasesFigures> {
  const runs = options.runs ?? 3;
  const wanted = (id: BuildCaseId) => options.only === undefined || options.only.has(id);
  const progress = options.onProgress ?? (() => undefined);
  const work = await mkdtemp(join(options.workDir ?? tmpdir(), "tsbuild-cases-"));
  let docker: PeerDocker | undefined;
  try {
    const rootfsTar = join(work, "base.tar");
    const rootfs = join(work, "base-rootfs");
    await makeBusyboxRootfs(rootfs);
    execFileSync("tar", ["--numeric-owner", "-C", rootfs, "-cf", rootfsTar, "."]);
    const builders: Builder[] = [tsbuildBuilder(work, rootfsTar, options.cpuProfDir)];
    let buildkitNote: string | undefined;
    if (options.noDocker) buildkitNote = "left out (--no-docker)";
    else if (!dockerInstalled()) buildkitNote = "docker is not installed (apt-get install docker.io to compare in the same run)";
    else {
      progress("starting dockerd");
      docker = await startPeerDocker(join(work, "docker"));
      docker.docker(["import", rootfsTar, BASE]);
      builders.push(dockerBuilder(docker));
    }

    const contexts = join(work, "contexts");
    let retried = 0;
    const figures: BuildCaseFigure[] = [];
    let defaultNetwork: BuildCasesFigures["defaultNetwork"];
    const record = (id: BuildCaseId, seconds: number[]) => {
      const spec = BUILD_CASES.find((c) => c.id === id)!;
      const figure: BuildCaseFigure = { id, title: spec.title, target: spec.target, tsbuildSeconds: seconds[0] };
      if (seconds.length > 1) {
        figure.buildkitSeconds = seconds[1];
        figure.ratio = seconds[0] / seconds[1];
      }
      figures.push(figure);
    };
    /**
     * docker 20.10 on this host now and then starts a container on a rootfs whose layers are
     * not there ("stat /bin/sh: no such file or directory", also with a plain `docker run`,
     * about one in fifteen; under load its COPY likewise loses files it is copying); such a
     * build is run again (and counted), never timed. tsbuild's failures are never retried.
     */
    const retryingBuildkit = async <T>(builder: Builder, run: () => Promise<T>): Promise<T> => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await run();
        } catch (error) {
          if (builder.name !== "buildkit" || attempt >= 8) throw error;
          retried++;
        }
      }
    };
    /** `runs` samples of `sample` per builder (of `among`, default all), interleaved; the median of each. */
    const measure = async (label: string, sample: (builder: Builder, i: number) => Promise<number>, among: Builder[] = builders): Promise<number[]> => {
      const samples = among.map(() => [] as number[]);
      for (let i = 0; i < runs; i++) {
        for (const [b, builder] of among.entries()) {
          progress(`${label}: ${builder.name} ${i + 1}/${runs}`);
          samples[b].push(await retryingBuildkit(builder, () => sample(builder, i)));
        }
      }
      return samples.map(median);
    };
    // docker runs with --network=host here (no bridge: ../shared/PEERS.md), so the RUN cases
    // give tsbuild the host's network too; its own default network is timed on its own below.
    const cold = (context: string, network?: "host") => async (builder: Builder) => {
      await builder.reset();
      return builder.build(context, network === undefined ? {} : { network });
    };

    if (wanted("per-run") || wanted("run20-cold") || wanted("run20-noop")) {
      const one = await writeContext(join(contexts, "run1"), runSteps(1));
      const twenty = await writeContext(join(contexts, "run20"), runSteps(20));
      if (wanted("per-run")) {
        const twentyOne = await writeContext(join(contexts, "run21"), runSteps(21));
        const t1 = await measure("1 RUN cold", cold(one, "host"));
        const t21 = await measure("21 RUNs cold", cold(twentyOne, "host"));
        record("per-run", t21.map((t, b) => (t - t1[b]) / 20));
      }
      if (wanted("run20-cold")) {
        const host = await measure("20 RUNs cold", cold(twenty, "host"));
        record("run20-cold", host);
        // tsbuild alone: the same build with its default network (a namespace of its own behind slirp4netns).
        const own = await measure("20 RUNs cold, tsbuild's default network", cold(twenty), [builders[0]]);
        defaultNetwork = { hostSeconds: host[0], defaultSeconds: own[0] };
      }
      if (wanted("run20-noop")) {
        for (const builder of builders) await builder.build(twenty, { network: "host" }); // whatever ran before, all cached now
        record("run20-noop", await measure("20 RUNs no-op", (builder) => builder.build(twenty, { network: "host" })));
      }
    }

    if (wanted("stages-cold")) record("stages-cold", await measure("3 stages cold", cold(await writeContext(join(contexts, "stages"), threeStages()), "host")));

    if (wanted("context-cold") || wanted("context-warm") || wanted("context-one")) {
      const files = options.contextFiles ?? 20_000;
      progress(`writing a context of ${files} files`);
      const context = await writeLargeContext(join(contexts, "large"), files);
      if (wanted("context-cold")) record("context-cold", await measure("context cold", cold(context)));
      if (wanted("context-warm")) {
        for (const builder of builders) await retryingBuildkit(builder, () => builder.build(context));
        record("context-warm", await measure("context warm", (builder) => builder.build(context)));
      }
      if (wanted("context-one")) {
        for (const builder of builders) await retryingBuildkit(builder, () => builder.build(context));
        record(
          "context-one",
          await measure("context, one file edited", async (builder, i) => {
            await writeFile(join(context, "d7", `f${i}`), `edited for ${builder.name} ${i} ${randomBytes(8).toString("hex")}\n`);
            return builder.build(context);
          }),
        );
      }
    }

    let bigLayerPeakRssMiB: number | undefined;
    if (wanted("big-layer")) {
      const mib = options.layerMiB ?? 500;
      const context = await writeContext(join(contexts, "big"), `FROM ${BASE}\nRUN head -c ${mib * 1024 * 1024} /dev/urandom > /big\n`);
      record(
        "big-layer",
        await measure(`${mib} MiB layer`, async (builder) => {
          await builder.reset();
          return builder.build(context, {
            peakRss: (peak) => {
              bigLayerPeakRssMiB = Math.max(bigLayerPeakRssMiB ?? 0, peak);
            },
          });
        }),
      );
    }
    if (retried > 0) buildkitNote = `${retried} failed build(s) taken again (docker's "stat /bin/sh: no such file" flake on this host)`;
    return {
      cases: figures,
      ...(bigLayerPeakRssMiB === undefined ? {} : { bigLayerPeakRssMiB }),
      ...(defaultNetwork === undefined ? {} : { defaultNetwork }),
      ...(buildkitNote === undefined ? {} : { buildkitNote }),
    };
  } finally {
    await docker?.stop();
    await rm(work, { recursive: true, force: true });
  }
}

/** Each line: the case, both times, the ratio beside its target. */
export function formatBuildCases(figures: BuildCasesFigures): string[] {
  const lines = figures.cases.map((f) => {
    const times = `tsbuild ${f.tsbuildSeconds.toFixed(3)} s` + (f.buildkitSeconds === undefined ? "" : ` | buildkit ${f.buildkitSeconds.toFixed(3)} s`);
    const ratio = f.ratio === undefined ? "ratio n/a" : `ratio ${f.ratio.toFixed(2)} (target <= ${f.target.toFixed(1)}) ${f.ratio <= f.target ? "met" : "MISSED"}`;
    return `case      ${f.title.padEnd(44)} ${times} | ${ratio}`;
  });
  if (figures.bigLayerPeakRssMiB !== undefined) {
    const peak = figures.bigLayerPeakRssMiB;
    lines.push(`case      peak RSS of tsbuild, 500 MB layer case: ${peak.toFixed(0)} MiB (target < 200 MiB) ${peak < 200 ? "met" : "MISSED"}`);
  }
  if (figures.defaultNetwork !== undefined) {
    const { hostSeconds, defaultSeconds } = figures.defaultNetwork;
    lines.push(
      `case      tsbuild's default network, 20 RUN steps cold: ${defaultSeconds.toFixed(3)} s vs ${hostSeconds.toFixed(3)} s with --network=host (${(((defaultSeconds - hostSeconds) / 20) * 1000).toFixed(1)} ms a RUN)`,
    );
  }
  if (figures.buildkitNote !== undefined) lines.push(`case      buildkit: ${figures.buildkitNote}`);
  return lines;
}

function runSteps(count: number): string {
  const lines = [`FROM ${BASE}`];
  for (let i = 1; i <= count; i++) lines.push(`RUN echo ${i} > /step-${i}`);
  return `${lines.join("\n")}\n`;
}

/**
 * Three stages that share nothing but the base, each with real work, joined at the end. Their
 * commands differ (so no builder can merge them into one step): they can only run side by side.
 */
function threeStages(): string {
  const stage = (name: string, i: number) => [`FROM ${BASE} AS ${name}`, `RUN head -c ${30_000_000 + i} /dev/urandom > /data`, `RUN sha256sum /data > /sum-${name} && rm /data`, `RUN echo ${name} >> /sum-${name}`];
  return [...stage("a", 0), ...stage("b", 1), ...stage("c", 2), `FROM ${BASE}`, ...["a", "b", "c"].map((s) => `COPY --from=${s} /sum-${s} /${s}.sum`), ""].join("\n");
}

async function writeContext(dir: string, dockerfile: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "Dockerfile"), dockerfile);
  return dir;
}

/** `files` files of 10 KiB of random bytes, 100 a directory, and a Dockerfile copying them all. */
async function writeLargeContext(dir: string, files: number): Promise<string> {
  const perDir = 100;
  for (let d = 0; d * perDir < files; d++) {
    await mkdir(join(dir, `d${d}`), { recursive: true });
    const writes: Promise<void>[] = [];
    for (let f = 0; f < perDir && d * perDir + f < files; f++) writes.push(writeFile(join(dir, `d${d}`, `f${f}`), randomBytes(10 * 1024)));
    await Promise.all(writes);
  }
  return writeContext(dir, `FROM ${BASE}\nCOPY . /ctx\nRUN find /ctx -type f | wc -l > /count\n`);
}

/**
 * tsbuild's command as a user runs it (bin/tsbuild, what `npm link` puts on PATH) on a root of
 * its own; a reset is a new root with only the base imported.
 */
function tsbuildBuilder(work: string, rootfsTar: string, cpuProfDir: string | undefined): Builder {
  const command = join(repoRoot(), "bin", "tsbuild");
  let root = "";
  let generation = 0;
  const builder: Builder = {
    name: "tsbuild",
    async reset() {
      if (root !== "") await rm(root, { recursive: true, force: true });
      root = join(work, `tsbuild-root-${generation++}`);
      await importRootfs(await openWorker({ root }), rootfsTar, { name: BASE });
    },
    async build(context, options = {}) {
      if (root === "") await builder.reset();
      const network = options.network === undefined ? [] : [`--network=${options.network}`];
      const args = ["build", "--root", root, "-q", "-t", "bench:latest", ...network, ...(options.dockerfile === undefined ? [] : ["-f", options.dockerfile]), context];
      if (cpuProfDir === undefined) return timeProcess(command, args, { SOURCE_DATE_EPOCH: "" }, options.peakRss);
      // Node takes --cpu-prof only on its command line, so a profiled build runs the script
      // bin/tsbuild runs, with the certificates variable moved as that script moves it.
      const main = join(repoRoot(), "dist", "cli", "main.js");
      const certificates = process.env.NODE_EXTRA_CA_CERTS === undefined ? {} : { NODE_EXTRA_CA_CERTS: undefined, TSBUILD_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS };
      return timeProcess(process.execPath, ["--cpu-prof", `--cpu-prof-dir=${cpuProfDir}`, main, ...args], { SOURCE_DATE_EPOCH: "", ...certificates }, options.peakRss);
    },
  };
  return builder;
}

function dockerBuilder(docker: PeerDocker): Builder {
  return {
    name: "buildkit",
    async reset() {
      docker.docker(["builder", "prune", "-af"]);
    },
    async build(context) {
      return timeProcess("/usr/bin/docker", ["build", "--network=host", "-q", "-t", "bench:latest", context], docker.env);
    },
  };
}

/**
 * Runs a program to its end and returns its wall time in seconds; fails on a non-zero exit.
 * With `peakRss`, samples the process's VmHWM (its own high-water mark, which only rises)
 * until it exits and reports the last sample.
 */
async function timeProcess(file: string, args: string[], env: NodeJS.ProcessEnv, peakRss?: (mib: number) => void): Promise<number> {
  const start = performance.now();
  const child = spawn(file, args, { env: { ...process.env, ...env }, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (text: string) => (stderr = (stderr + text).slice(-4000)));
  let highWater = 0;
  const sampler =
    peakRss === undefined
      ? undefined
      : setInterval(() => {
          readFile(`/proc/${child.pid}/status`, "utf8").then(
            (text) => {
              const kib = Number(/VmHWM:\s+(\d+)/.exec(text)?.[1] ?? 0);
              highWater = Math.max(highWater, kib);
            },
            () => undefined, // the process has just exited; the samples before count
          );
        }, 20);
  const status = await new Promise<number | null>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", resolve);
  });
  const seconds = (performance.now() - start) / 1000;
  if (sampler !== undefined) clearInterval(sampler);
  if (status !== 0) throw new Error(`${file} ${args.join(" ")} exited ${status}: ${stderr.trim()}`);
  peakRss?.(highWater / 1024);
  return seconds;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const only = process.argv[2] === undefined ? undefined : new Set(process.argv[2].split(",") as BuildCaseId[]);
  const figures = await benchBuildCases({ ...(only === undefined ? {} : { only }), onProgress: (text) => process.stderr.write(`  ${text}\n`) });
  for (const line of formatBuildCases(figures)) process.stdout.write(`${line}\n`);
}
