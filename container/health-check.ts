import { spawn } from "node:child_process";
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createContainerProcess } from "../executor/container-runtime.js";
import type { OciRuntime } from "../executor/oci-runtime.js";
import type { ContainerConfig } from "../oci/image-types.js";
import { writeFileAtomic } from "../store/atomic-file.js";
import type { ContainerPaths, ContainerRecord } from "./container-record.js";
import { serializeRuntimeJson } from "../executor/runtime-spec.js";

/** An image's HEALTHCHECK with docker's defaults filled in, in milliseconds. */
export interface HealthcheckSettings {
  /** The process to run in the container: `CMD` args, or `/bin/sh -c` with a `CMD-SHELL` line. */
  args: string[];
  intervalMs: number;
  timeoutMs: number;
  startPeriodMs: number;
  retries: number;
}

/** One probe's result, as docker's `State.Health.Log` holds it. */
export interface HealthResult {
  Start: string;
  End: string;
  ExitCode: number;
  Output: string;
}

/** docker's `State.Health`: written by the shim to `health.json` after every probe. */
export interface HealthState {
  Status: "starting" | "healthy" | "unhealthy";
  FailingStreak: number;
  Log: HealthResult[];
}

const NS_PER_MS = 1_000_000;
/** docker keeps the last five results, and 4 KiB of each probe's output. */
const KEPT_RESULTS = 5;
const KEPT_OUTPUT = 4096;

/** The settings of an image config's Healthcheck; undefined when it has none or says `NONE`. */
export function healthcheckSettings(healthcheck: ContainerConfig["Healthcheck"]): HealthcheckSettings | undefined {
  const test = healthcheck?.Test ?? [];
  let args: string[];
  if (test[0] === "CMD" && test.length > 1) args = test.slice(1);
  else if (test[0] === "CMD-SHELL" && test.length > 1) args = ["/bin/sh", "-c", test[1]];
  else return undefined;
  const ms = (ns: number | undefined, fallback: number) => (ns !== undefined && ns > 0 ? Math.max(1, Math.round(ns / NS_PER_MS)) : fallback);
  return {
    args,
    intervalMs: ms(healthcheck?.Interval, 30_000),
    timeoutMs: ms(healthcheck?.Timeout, 30_000),
    startPeriodMs: ms(healthcheck?.StartPeriod, 0),
    retries: healthcheck?.Retries !== undefined && healthcheck.Retries > 0 ? healthcheck.Retries : 3,
  };
}

/** The container's health as its shim last wrote it; undefined without health checks. */
export async function readHealth(paths: ContainerPaths): Promise<HealthState | undefined> {
  try {
    return JSON.parse(await readFile(paths.health, "utf8")) as HealthState;
  } catch {
    return undefined;
  }
}

/**
 * Runs the health check while the container's process runs, as docker's daemon does: every
 * interval the probe runs in the container (the runtime's `exec`), killed after the timeout;
 * a success makes it healthy, `retries` failures in a row unhealthy, and failures within the
 * start period do not count while it is still starting.
 */
export async function startHealthChecks(options: {
  runtime: OciRuntime;
  record: ContainerRecord;
  paths: ContainerPaths;
  settings: HealthcheckSettings;
}): Promise<{ stop(): Promise<void> }> {
  const { paths, settings } = options;
  const started = Date.now();
  const state: HealthState = { Status: "starting", FailingStreak: 0, Log: [] };
  let stopped = false;
  let wake: () => void = () => undefined;
  // Written before the process starts: whoever sees it running sees `starting`, not the last run's health.
  await writeFileAtomic(paths.health, `${JSON.stringify(state)}\n`);
  const loop = (async () => {
    for (;;) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, settings.intervalMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      if (stopped) return;
      const result = await probe(options);
      if (stopped) return;
      state.Log = [...state.Log, result].slice(-KEPT_RESULTS);
      if (result.ExitCode === 0) {
        state.Status = "healthy";
        state.FailingStreak = 0;
      } else if (!(state.Status === "starting" && Date.now() - started < settings.startPeriodMs)) {
        state.FailingStreak += 1;
        if (state.FailingStreak >= settings.retries) state.Status = "unhealthy";
      }
      await writeFileAtomic(paths.health, `${JSON.stringify(state)}\n`);
    }
  })();
  return {
    async stop() {
      stopped = true;
      wake();
      // A probe that failed to run is a result already written; nothing else can go wrong here.
      await loop.catch(() => undefined);
    },
  };
}

/** One probe: the check's process in the container, its exit code and output, killed at the timeout. */
async function probe(options: { runtime: OciRuntime; record: ContainerRecord; paths: ContainerPaths; settings: HealthcheckSettings }): Promise<HealthResult> {
  const { runtime, record, paths, settings } = options;
  const start = new Date().toISOString();
  const processFile = join(paths.bundle, "health-process.json");
  const pidFile = join(paths.bundle, "health.pid");
  try {
    const proc = await createContainerProcess(paths.rootfs, { args: settings.args, env: [`HOSTNAME=${record.hostname}`, ...record.env], cwd: record.cwd, user: record.user });
    await writeFile(processFile, serializeRuntimeJson(proc));
    await rm(pidFile, { force: true });
    const { file, args } = runtime.command(["exec", "--process", processFile, "--pid-file", pidFile, record.runtimeId]);
    const child = spawn(file, args, { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    const collect = (chunk: Buffer) => (output = (output + chunk.toString("utf8")).slice(0, KEPT_OUTPUT));
    child.stdout.on("data", collect);
    child.stderr.on("data", collect);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      // The probe's process in the container first (its pid on the host), then the runtime's exec.
      void readFile(pidFile, "utf8")
        .then((pid) => process.kill(Number(pid), "SIGKILL"))
        .catch(() => undefined)
        .finally(() => child.kill("SIGKILL"));
    }, settings.timeoutMs);
    const code = await new Promise<number | null>((resolve) => {
      child.once("error", () => resolve(null));
      child.once("close", (exit) => resolve(exit));
    });
    clearTimeout(timer);
    if (timedOut) return { Start: start, End: new Date().toISOString(), ExitCode: -1, Output: `Health check exceeded timeout (${settings.timeoutMs / 1000}s)` };
    return { Start: start, End: new Date().toISOString(), ExitCode: code ?? -1, Output: output };
  } catch (error) {
    return { Start: start, End: new Date().toISOString(), ExitCode: -1, Output: `Cannot run the health check: ${(error as Error).message}` };
  }
}
