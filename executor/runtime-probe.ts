import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TsbuildError } from "../errors.js";
import { makeOwnedTempDir } from "../util/owned-temp-dir.js";
import { detectCgroupMode } from "./cgroup-mode.js";
import { createRuntimeSpec } from "./create-runtime-spec.js";
import { findExecutable, OciRuntime, RUNTIME_NAMES, type RuntimeName } from "./oci-runtime.js";
import { withProbeCache } from "./probe-cache.js";
import { runtimeLogMessages } from "./runtime-log.js";
import { serializeRuntimeJson } from "./runtime-spec.js";

/** What a probe learnt about one runtime, for `tsbuild info` and for choosing the default. */
export interface RuntimeProbe {
  name: RuntimeName;
  /** The binary, when found. */
  path?: string;
  /** First line of `--version`. */
  version?: string;
  usable: boolean;
  /** Why it is not usable, in a sentence the user can act on. */
  reason?: string;
  /** True when it only works through the hybrid-cgroup wrapper (see `OciRuntime`). */
  hybridWrapper: boolean;
  /**
   * Whether it can place sandboxes in a cgroup of their own (and so apply resource limits).
   * False where the cgroup tree is read-only to us, as in many unprivileged containers.
   */
  cgroups: boolean;
}

export interface ProbeRuntimesOptions {
  /** Binary paths by runtime name; default: found on PATH. */
  paths?: Partial<Record<RuntimeName, string>>;
  /** Which runtimes to probe, in order of preference. Default: runc, then crun. */
  names?: readonly RuntimeName[];
  /**
   * A directory where probe results are kept for other processes (see `probe-cache.ts`),
   * so a build does not start trial sandboxes every time. Default: none.
   */
  cacheDir?: string;
}

/**
 * The order build sandboxes prefer: crun starts in about half runc's time (and CPU), which
 * is a good part of what a RUN step costs; runc is there where crun does not work.
 */
export const FAST_START_RUNTIMES: readonly RuntimeName[] = ["crun", "runc"];

const PROBE_EXECUTABLE = "/.tsbuild-probe";
const cache = new Map<string, Promise<RuntimeProbe>>();

/**
 * Probes each runtime by starting a real sandbox over an empty rootfs whose process does
 * not exist: a runtime that gets as far as exec'ing it has set up every namespace and
 * mount, which `--version` alone would not show (crun on a hybrid cgroup host passes that
 * and then refuses every container). Tried with a cgroup of its own first, then without,
 * and for crun on a hybrid host also through the wrapper. Cached for the life of the process.
 */
export async function probeRuntimes(options: ProbeRuntimesOptions = {}): Promise<RuntimeProbe[]> {
  const names = options.names ?? RUNTIME_NAMES;
  return Promise.all(names.map((name) => probeCached(name, options.paths?.[name], options.cacheDir)));
}

/**
 * The first usable runtime of `names` (default runc before crun, as BuildKit prefers runc),
 * probing one after another: a runtime after the first usable one is never started.
 */
export async function detectDefaultRuntime(options: ProbeRuntimesOptions = {}): Promise<RuntimeProbe> {
  const probes: RuntimeProbe[] = [];
  for (const name of options.names ?? RUNTIME_NAMES) {
    const probe = await probeCached(name, options.paths?.[name], options.cacheDir);
    if (probe.usable) return probe;
    probes.push(probe);
  }
  const reasons = probes.map((p) => `${p.name}: ${p.reason ?? "unknown"}`).join("; ");
  throw new TsbuildError("SYSTEM", `Cannot find a usable OCI runtime (${reasons})`, { hint: installHint(probes) });
}

/** The advice for a missing runtime. */
export function installHint(probes: RuntimeProbe[]): string {
  const missing = probes.filter((p) => p.path === undefined).map((p) => p.name);
  if (missing.length > 0) return `Install one: apt-get install ${missing[0]} (or ${missing.map((m) => `"${m}"`).join(", ")} from your distribution)`;
  return "Run as root on a host that allows namespaces, or pass --runtime with a working runtime";
}

function probeCached(name: RuntimeName, path: string | undefined, cacheDir: string | undefined): Promise<RuntimeProbe> {
  const key = `${name}\0${path ?? ""}`;
  let probe = cache.get(key);
  if (probe === undefined) {
    probe = cacheDir === undefined ? probeRuntime(name, path) : withProbeCache(cacheDir, name, path, () => probeRuntime(name, path));
    cache.set(key, probe);
  }
  return probe;
}

async function probeRuntime(name: RuntimeName, explicitPath: string | undefined): Promise<RuntimeProbe> {
  const path = await findExecutable(explicitPath ?? name);
  if (path === undefined) {
    const where = explicitPath === undefined ? "on PATH" : `at "${explicitPath}"`;
    return { name, usable: false, hybridWrapper: false, cgroups: false, reason: `not found ${where}; install it with apt-get install ${name}` };
  }
  const version = await runVersion(path);
  if (version === undefined) {
    return { name, path, usable: false, hybridWrapper: false, cgroups: false, reason: `"${path} --version" failed` };
  }
  const cgroupMode = await detectCgroupMode();
  const variants = cgroupMode === "hybrid" && (await findExecutable("unshare")) !== undefined ? [false, true] : [false];
  let firstComplaint: string | undefined;
  for (const cgroups of cgroupMode === "none" ? [false] : [true, false]) {
    for (const hybridWrapper of variants) {
      const complaint = await tryStart(new OciRuntime({ name, path, stateDir: "", hybridWrapper }), cgroups);
      if (complaint === undefined) return { name, path, version, usable: true, hybridWrapper, cgroups };
      firstComplaint ??= complaint;
    }
  }
  return { name, path, version, usable: false, hybridWrapper: false, cgroups: false, reason: firstComplaint };
}

function runVersion(path: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const child = spawn(path, ["--version"], { stdio: ["ignore", "pipe", "ignore"] });
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (out += chunk));
    child.on("error", () => resolve(undefined));
    child.on("close", (code) => resolve(code === 0 ? out.split("\n")[0].trim() : undefined));
  });
}

/** Undefined when the runtime reached exec; otherwise its complaint. */
async function tryStart(template: OciRuntime, cgroups: boolean): Promise<string | undefined> {
  const dir = await makeOwnedTempDir(tmpdir(), "probe");
  const id = `tsbuild-probe-${randomBytes(6).toString("hex")}`;
  const runtime = new OciRuntime({
    name: template.name,
    path: template.path,
    stateDir: join(dir, "state"),
    hybridWrapper: template.hybridWrapper,
  });
  try {
    await mkdir(join(dir, "rootfs"));
    const spec = createRuntimeSpec(join(dir, "rootfs"), {
      args: [PROBE_EXECUTABLE],
      env: [],
      cwd: "/",
      user: { uid: 0, gid: 0, additionalGids: [], home: "/" },
      hostname: "tsbuild-probe",
      network: "none",
      ...(cgroups ? { cgroupsPath: `tsbuild/${id}` } : {}),
    });
    await writeFile(join(dir, "config.json"), serializeRuntimeJson(spec));
    const logPath = join(dir, "runtime.log");
    const { file, args } = runtime.command(["run", "--bundle", dir, id], logPath);
    const stderr = await new Promise<string>((resolve) => {
      const child = spawn(file, args, { stdio: ["ignore", "ignore", "pipe"] });
      let err = "";
      child.stderr.setEncoding("utf8").on("data", (chunk: string) => (err += chunk));
      child.on("error", (error) => resolve(String(error)));
      child.on("close", () => resolve(err));
    });
    const log = await readFile(logPath, "utf8").catch(() => "");
    const messages = runtimeLogMessages(log);
    const all = [...messages, stderr.trim()].filter((m) => m !== "");
    if (all.some((m) => m.includes(PROBE_EXECUTABLE.slice(1)))) return undefined;
    return all[0] ?? "the runtime started no container";
  } finally {
    await runtime.delete(id).catch(() => undefined); // the probe container may never have been created
    await rm(dir, { recursive: true, force: true });
  }
}
