import { readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { unmountBeneath } from "../snapshotter/mount-table.js";
import { isProcessAlive, parseProcessToken, readProcessStartTime } from "../store/process-identity.js";
import { readdirIfExists } from "../util/stat-if-exists.js";
import { detectCgroupMode } from "./cgroup-mode.js";
import { removeMountStubs } from "./mount-stubs.js";
import { findExecutable, OciRuntime, RUNTIME_NAMES } from "./oci-runtime.js";

/** RUN sandboxes are named `tsbuild-<pid>-<start>-<random>` after the process that runs them. */
export const SANDBOX_PREFIX = "tsbuild-";
/** The mount stubs of a run, kept in its bundle so a reclaim can take them out of the rootfs. */
export const STUBS_FILE = "stubs.json";

export interface ReclaimSandboxesOptions {
  /** Bundles and per-run scratch files: `<root>/executor`. */
  workDir: string;
  /**
   * The runtimes whose state to look at; default one per `<root>/runtime/<name>` that exists
   * (given `stateRoot`), so a reclaim costs no runtime probe.
   */
  runtimes?: OciRuntime[];
  /** `<root>/runtime`, to find the runtimes when `runtimes` is not given. */
  stateRoot?: string;
  /** The mount table, when the caller has read it already. */
  mounted?: ReadonlySet<string>;
}

/** What `reclaimSandboxes` removed. */
export interface SandboxReclaim {
  /** Runtime containers of dead processes, deleted (killed first). */
  containers: string[];
  /** Their bundles, with secrets, scratch copies and mount stubs. */
  bundles: string[];
}

/** True for a sandbox id or bundle name whose owner process is gone. */
export function isDeadSandbox(id: string): boolean {
  if (!id.startsWith(SANDBOX_PREFIX)) return false;
  const owner = parseProcessToken(id.slice(SANDBOX_PREFIX.length));
  return owner !== undefined && !isProcessAlive(owner);
}

/**
 * Removes what RUN sandboxes of dead tsbuild processes left: a runtime still creating one
 * (it outlives the tsbuild that started it; with it goes the private tmpfs of a run's
 * secrets), the containers (their processes killed), and the bundles with anything mounted
 * in them and the mount stubs they made in rootfs directories that still exist. Sandboxes of live processes, this
 * one included, are not touched. Nothing is started unless something is left.
 */
export async function reclaimSandboxes(options: ReclaimSandboxesOptions): Promise<SandboxReclaim> {
  const bundles = ((await readdirIfExists(options.workDir)) ?? []).filter(isDeadSandbox);
  const { stateRoot } = options;
  const stateDirs = options.runtimes?.map((runtime) => runtime.stateDir) ?? (stateRoot === undefined ? [] : RUNTIME_NAMES.map((name) => join(stateRoot, name)));
  const states = await Promise.all(stateDirs.map(async (dir) => ((await readdirIfExists(dir)) ?? []).filter(isDeadSandbox)));
  if (bundles.length === 0 && states.every((ids) => ids.length === 0)) return { containers: [], bundles: [] };
  // Only now, with something to take back, find the runtimes' binaries.
  const runtimes = options.runtimes ?? (await existingRuntimes(options.stateRoot));

  // A runtime killed mid-create would otherwise finish creating a container after we looked.
  await killRuntimesOf(bundles.map((name) => join(options.workDir, name)));
  const containers = new Set<string>();
  for (const runtime of runtimes) {
    const listed = (await runtime.list()).filter(isDeadSandbox);
    const found = states[stateDirs.indexOf(runtime.stateDir)] ?? [];
    for (const id of new Set([...found, ...listed])) {
      await runtime.delete(id);
      containers.add(id);
    }
  }
  for (const name of bundles) {
    const dir = join(options.workDir, name);
    await unmountBeneath(dir, options.mounted);
    const stubs = await readFile(join(dir, STUBS_FILE), "utf8").then(
      (text) => JSON.parse(text) as string[],
      () => [], // killed before the stubs were recorded: the runtime made none yet
    );
    await removeMountStubs(stubs);
    await rm(dir, { recursive: true, force: true });
  }
  return { containers: [...containers], bundles };
}

/** One runtime per `<stateRoot>/<name>` directory (the executor's own, not the containers'). */
async function existingRuntimes(stateRoot: string | undefined): Promise<OciRuntime[]> {
  if (stateRoot === undefined) return [];
  const names = (await readdirIfExists(stateRoot)) ?? [];
  const runtimes: OciRuntime[] = [];
  for (const name of RUNTIME_NAMES) {
    if (!names.includes(name)) continue;
    const path = await findExecutable(name);
    if (path === undefined) continue;
    // crun on a hybrid cgroup host only works through the wrapper (see OciRuntime).
    const hybridWrapper = name === "crun" && (await detectCgroupMode()) === "hybrid";
    runtimes.push(new OciRuntime({ name, path, stateDir: join(stateRoot, name), hybridWrapper }));
  }
  return runtimes;
}

/** SIGKILLs the runtime processes (`runc run --bundle <dir>`) still working on the given bundles. */
async function killRuntimesOf(bundleDirs: string[]): Promise<void> {
  if (bundleDirs.length === 0) return;
  const victims: Array<{ pid: number; startTime: number }> = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    const argv = await readFile(`/proc/${pid}/cmdline`, "utf8").then(
      (text) => text.split("\0"),
      (): string[] => [], // the process ended while we looked
    );
    const bundle = argv.indexOf("--bundle");
    // `--bundle <bundle>`, or `<bundle>/private` for a run with secrets (private-bundle.ts).
    const given = argv[bundle + 1] ?? "";
    if (bundle === -1 || !bundleDirs.some((dir) => given === dir || given.startsWith(`${dir}/`))) continue;
    const startTime = readProcessStartTime(pid);
    if (startTime === undefined) continue;
    try {
      process.kill(pid, "SIGKILL");
      victims.push({ pid, startTime });
    } catch {
      // gone between the look and the kill
    }
  }
  // Wait for them to go, so the state they leave is final before the runtime deletes it.
  for (let round = 0; round < 400 && victims.some((victim) => isProcessAlive(victim)); round++) await sleep(25);
}
