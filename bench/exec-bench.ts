import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createRuntimeSpec, DEFAULT_PATH } from "../executor/create-runtime-spec.js";
import { defaultRlimits } from "../executor/default-rlimits.js";
import { createHostsFile, createResolvConf } from "../executor/etc-files.js";
import { Executor } from "../executor/executor.js";
import type { OciRuntime, RuntimeName } from "../executor/oci-runtime.js";
import { bindMount } from "../executor/run-mounts.js";
import { createSnapshotter } from "../snapshotter/create-snapshotter.js";
import type { Snapshotter } from "../snapshotter/types.js";
import { makeBusyboxRootfs } from "../test/helpers/busybox-rootfs.js";

export interface ExecBenchOptions {
  /** Samples per figure. Default 50. */
  runs?: number;
  /** Default: both runc and crun. */
  runtimes?: RuntimeName[];
  /** Also time a whole RUN step: prepare a snapshot, mount, run, unmount, diff and commit its (empty) layer. Default true. */
  withSnapshotter?: boolean;
}

export interface ExecBenchFigures {
  runtime: RuntimeName;
  /** Whether crun needed the hybrid-cgroup wrapper (its cost is in both figures). */
  hybridWrapper: boolean;
  runs: number;
  /** Median of a bare `<runtime> run` of a prepared bundle running `true`, ms. */
  bareMs: number;
  /** Median of `Executor.run` of `true`: spec, bundle, mount stubs, run, cleanup, ms. */
  sandboxMs: number;
  /** sandboxMs - bareMs: what the executor adds. */
  overheadMs: number;
  /** Median of a whole RUN step with an empty layer, when the snapshotter part ran. */
  stepMs?: number;
  /** Which snapshotter, or why the step figure is missing. */
  snapshotter?: string;
}

/**
 * Per-RUN cost of the executor next to a bare runtime start of the same kind of bundle,
 * measured interleaved in one process so machine drift hits all figures alike.
 */
export async function benchExec(options: ExecBenchOptions = {}): Promise<ExecBenchFigures[]> {
  const runs = options.runs ?? 50;
  const dir = await mkdtemp(join(tmpdir(), "tsbuild-exec-bench-"));
  try {
    const rootfs = join(dir, "rootfs");
    await makeBusyboxRootfs(rootfs);
    const figures: ExecBenchFigures[] = [];
    for (const name of options.runtimes ?? (["runc", "crun"] as RuntimeName[])) {
      const executor = await Executor.create({ root: join(dir, `root-${name}`), runtime: name });
      const bundle = await writeBareBundle(join(dir, `bundle-${name}`), rootfs);
      const step = options.withSnapshotter === false ? undefined : await prepareStepBench(join(dir, `snap-${name}`));
      const bare: number[] = [];
      const sandbox: number[] = [];
      const steps: number[] = [];
      let stepNote = step?.note;
      // One warm-up of each, then interleaved samples.
      for (let i = -1; i < runs; i++) {
        const b = await time(() => bareRun(executor.runtime, bundle));
        const s = await time(() => executor.run(rootfs, { args: ["/bin/true"] }));
        if (i >= 0) {
          bare.push(b);
          sandbox.push(s);
        }
        if (step?.snapshotter !== undefined && stepNote === undefined) {
          try {
            const t = await time(() => runStep(step.snapshotter!, executor, join(dir, `mnt-${name}`), i));
            if (i >= 0) steps.push(t);
          } catch (error) {
            stepNote = `step failed: ${error instanceof Error ? error.message : String(error)}`;
          }
        }
      }
      const bareMs = median(bare);
      const sandboxMs = median(sandbox);
      figures.push({
        runtime: name,
        hybridWrapper: executor.runtime.hybridWrapper,
        runs,
        bareMs,
        sandboxMs,
        overheadMs: sandboxMs - bareMs,
        ...(steps.length > 0 ? { stepMs: median(steps) } : {}),
        ...(step === undefined ? {} : { snapshotter: stepNote ?? step.snapshotter?.name }),
      });
    }
    return figures;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A bundle like the executor's for `true` as root: same spec, same hosts and resolv.conf mounts. */
async function writeBareBundle(bundle: string, rootfs: string): Promise<string> {
  await mkdir(bundle, { recursive: true });
  await writeFile(join(bundle, "hosts"), createHostsFile({ hostname: "buildkitsandbox" }));
  await writeFile(join(bundle, "resolv.conf"), await createResolvConf());
  const spec = createRuntimeSpec(rootfs, {
    args: ["/bin/true"],
    env: [`PATH=${DEFAULT_PATH}`, "HOME=/root"],
    cwd: "/",
    user: { uid: 0, gid: 0, additionalGids: [], home: "/root" },
    hostname: "buildkitsandbox",
    network: "host",
    mounts: [bindMount(join(bundle, "hosts"), "/etc/hosts", true), bindMount(join(bundle, "resolv.conf"), "/etc/resolv.conf", true)],
    cgroupsPath: `tsbuild/bench-${randomBytes(6).toString("hex")}`,
    rlimits: await defaultRlimits(),
  });
  await writeFile(join(bundle, "config.json"), JSON.stringify(spec));
  return bundle;
}

function bareRun(runtime: OciRuntime, bundle: string): Promise<void> {
  const { file, args } = runtime.command(["run", "--bundle", bundle, `tsbuild-bench-${randomBytes(6).toString("hex")}`]);
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`${runtime.name} run exited ${code}: ${stderr.trim()}`))));
  });
}

interface StepBench {
  snapshotter?: Snapshotter;
  note?: string;
}

/** A snapshotter with a committed busybox base, or why there is none. */
async function prepareStepBench(root: string): Promise<StepBench> {
  try {
    const snapshotter = await createSnapshotter(root);
    const target = join(root, "base-mnt");
    await mkdir(target, { recursive: true });
    await snapshotter.prepare("base-active");
    await snapshotter.mount("base-active", target);
    try {
      await makeBusyboxRootfs(target);
    } finally {
      await snapshotter.unmount(target);
    }
    await snapshotter.commit("base", "base-active");
    return { snapshotter };
  } catch (error) {
    return { note: `snapshotter unavailable: ${error instanceof Error ? error.message : String(error)}` };
  }
}

/** One RUN step as the solver will do it: active snapshot, mount, run, unmount, diff, commit. */
async function runStep(snapshotter: Snapshotter, executor: Executor, target: string, i: number): Promise<void> {
  const key = `step-${i + 1}-${randomBytes(4).toString("hex")}`;
  await mkdir(target, { recursive: true });
  await snapshotter.prepare(key, "base");
  await snapshotter.mount(key, target);
  try {
    await executor.run(target, { args: ["/bin/true"] });
  } finally {
    await snapshotter.unmount(target);
  }
  await snapshotter.diff(key, join(target, "..", `${key}.tar`), { compression: "none" }); // as a build stores it
  await snapshotter.commit(`layer-${key}`, key);
}

async function time(fn: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const runs = Number(process.argv[2] ?? 50);
  for (const f of await benchExec({ runs })) {
    const step = f.stepMs === undefined ? `step: ${f.snapshotter ?? "not measured"}` : `whole RUN step with empty layer (${f.snapshotter}) ${f.stepMs.toFixed(1)} ms`;
    process.stdout.write(
      `${f.runtime}${f.hybridWrapper ? " (hybrid wrapper)" : ""}: bare run ${f.bareMs.toFixed(1)} ms, sandbox ${f.sandboxMs.toFixed(1)} ms (+${f.overheadMs.toFixed(1)} ms), ${step}  [median of ${f.runs}]\n`,
    );
  }
}
