import { spawn, type ChildProcessByStdio } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createWriteStream, existsSync, mkdirSync, writeFileSync, type WriteStream } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import { constants } from "node:os";
import { basename, dirname, join, posix, resolve } from "node:path";
import type { Readable, Writable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { TsbuildError } from "../errors.js";
import { currentProcess, formatProcessToken } from "../store/process-identity.js";
import { crashPoint } from "../util/crash-point.js";
import { createRuntimeSpec, DEFAULT_PATH } from "./create-runtime-spec.js";
import { defaultRlimits } from "./default-rlimits.js";
import { ensureWorkdir } from "./ensure-workdir.js";
import { createHostsFile, createResolvConf } from "./etc-files.js";
import { insecurePrivileges } from "./insecure-privileges.js";
import { ExecError } from "./exec-error.js";
import { LogTail } from "./log-tail.js";
import { claimMountStubs, releaseMountStubs } from "./mount-stubs.js";
import { OciRuntime, type RuntimeName } from "./oci-runtime.js";
import { addPrecompiledSeccomp } from "./precompiled-seccomp.js";
import { runtimeCacheDir } from "./runtime-cache-dir.js";
import { holdsSecrets, packPrivateFiles, privateBundleCommand, type PrivateFile } from "./private-bundle.js";
import { runtimeStateRoot } from "./rootless-mode.js";
import { reclaimSandboxes, SANDBOX_PREFIX, STUBS_FILE, type SandboxReclaim } from "./reclaim-sandboxes.js";
import { resolveRootfsUser } from "./rootfs-user.js";
import { bindMount, prepareRunMounts, type PreparedRunMounts } from "./run-mounts.js";
import { runtimeLogMessages } from "./runtime-log.js";
import { detectDefaultRuntime, FAST_START_RUNTIMES, installHint, probeRuntimes } from "./runtime-probe.js";
import type { SandboxNetwork } from "./sandbox-network.js";
import { SandboxNetworkPool } from "./sandbox-network-pool.js";
import type { RuntimeRlimit } from "./runtime-spec.js";
import { serializeRuntimeJson } from "./runtime-spec.js";
import type { ExecProcess, ExecResult, ExecRunOptions, OutputStream } from "./types.js";
import { readTextOrEmptySync } from "../util/read-small-file.js";

export interface ExecutorOptions {
  /** The tsbuild root; the directories below default to places under it. */
  root: string;
  /** Default: the first usable of crun and runc (`FAST_START_RUNTIMES`: crun starts faster). */
  runtime?: RuntimeName;
  /** The runtime's binary; default: found on PATH. */
  runtimePath?: string;
  /** The runtime's `--root`. Default `<root>/runtime/<runtime>`. */
  stateDir?: string;
  /** Bundles and per-run scratch files. Default `<root>/executor`. */
  workDir?: string;
  /** Persistent directories of cache mounts. Default `<root>/cache-mounts`. */
  cacheMountRoot?: string;
  /** Default `buildkitsandbox`, as BuildKit names its RUN sandboxes. */
  hostname?: string;
  /**
   * What `network: "default"` means. Default `isolated`: a network namespace of its own with
   * outbound access and no way to the host's loopback (see `openSandboxNetwork`), as
   * `docker build` gives RUN.
   */
  defaultNetwork?: "isolated" | "host" | "none";
  /**
   * The cgroup (relative to the runtime's own) each sandbox is placed under, as
   * `<parent>/<id>`. Default `tsbuild` where the probe could place a sandbox in a cgroup;
   * null places nothing, and resource limits are then not applied.
   */
  cgroupParent?: string | null;
  /** Default: RLIMIT_NOFILE 1048576 like Docker containers, capped at this process's hard limit. */
  rlimits?: RuntimeRlimit[];
}

/** What `cleanStale` removed. */
export type StaleCleanup = SandboxReclaim;

/** How long a killed sandbox may take to go before its runtime process is killed too. */
const KILL_GRACE_MS = 5000;

/** Runs processes in OCI-runtime sandboxes over rootfs directories its caller prepared. */
export class Executor {
  readonly runtime: OciRuntime;
  /**
   * For runs with secrets in their environment, when `runtime` is crun: crun keeps a copy of
   * config.json (the environment spelled out) in its state directory on disk; runc does not.
   * Undefined when runtime is runc, was named by the caller, or runc does not work here.
   */
  readonly #secretEnvRuntime: OciRuntime | undefined;
  readonly #workDir: string;
  readonly #cacheMountRoot: string;
  readonly #hostname: string;
  readonly #defaultNetwork: "isolated" | "host" | "none";
  readonly #cgroupParent: string | null;
  readonly #rlimits: RuntimeRlimit[];
  /** Where runtime probes and compiled seccomp programs are kept for later processes. */
  readonly #probeDir: string;
  readonly #networks = new SandboxNetworkPool();

  /** Probes the runtime (once per process) and resolves the options. */
  static async create(options: ExecutorOptions): Promise<Executor> {
    let probe;
    // A binary path alone names its runtime by file name (`/opt/bin/crun` is crun).
    const named = options.runtime ?? (options.runtimePath === undefined ? undefined : basename(options.runtimePath).includes("crun") ? "crun" : "runc");
    // Probe results are kept for the next process (executor/probe-cache.ts, runtime-cache-dir.ts).
    const cacheDir = await runtimeCacheDir(options.root);
    if (named === undefined) {
      probe = await detectDefaultRuntime({ names: FAST_START_RUNTIMES, cacheDir });
    } else {
      const name = named;
      [probe] = await probeRuntimes({ names: [name], paths: options.runtimePath === undefined ? {} : { [name]: options.runtimePath }, cacheDir });
      if (!probe.usable) {
        throw new TsbuildError("SYSTEM", `Cannot use OCI runtime "${name}": ${probe.reason ?? "it does not work here"}`, {
          hint: installHint([probe]),
        });
      }
    }
    const runtime = new OciRuntime({
      name: probe.name,
      path: probe.path!,
      stateDir: resolve(options.stateDir ?? join(runtimeStateRoot(options.root), probe.name)),
      hybridWrapper: probe.hybridWrapper,
    });
    runtime.preferSealedCopy();
    let secretEnvRuntime: OciRuntime | undefined;
    if (probe.name === "crun" && named === undefined) {
      const [runc] = await probeRuntimes({ names: ["runc"], cacheDir });
      if (runc.usable) {
        secretEnvRuntime = new OciRuntime({ name: "runc", path: runc.path!, stateDir: resolve(join(options.root, "runtime", "runc")), hybridWrapper: runc.hybridWrapper });
      }
    }
    return new Executor(runtime, secretEnvRuntime, options, options.rlimits ?? (await defaultRlimits()), probe.cgroups, cacheDir);
  }

  private constructor(runtime: OciRuntime, secretEnvRuntime: OciRuntime | undefined, options: ExecutorOptions, rlimits: RuntimeRlimit[], cgroups: boolean, probeDir: string) {
    this.runtime = runtime;
    this.#secretEnvRuntime = secretEnvRuntime;
    this.#workDir = resolve(options.workDir ?? join(options.root, "executor"));
    this.#cacheMountRoot = resolve(options.cacheMountRoot ?? join(options.root, "cache-mounts"));
    this.#hostname = options.hostname ?? "buildkitsandbox";
    this.#defaultNetwork = options.defaultNetwork ?? "isolated";
    this.#cgroupParent = options.cgroupParent === undefined ? (cgroups ? "tsbuild" : null) : options.cgroupParent;
    this.#rlimits = rlimits;
    this.#probeDir = probeDir;
  }

  /**
   * Runs `proc` in a sandbox over `rootfs` (a directory that stays mounted by the caller for
   * the whole call) and waits for it. Resolves when it exits 0; throws `ExecError` for a
   * non-zero exit and a CANCELLED error when `signal` aborts. Either way, the container, its
   * bundle, scratch files and every mount point created in the rootfs are gone on return.
   */
  async run(rootfs: string, proc: ExecProcess, options: ExecRunOptions = {}): Promise<ExecResult> {
    const started = Date.now();
    const root = resolve(rootfs);
    // The owner's identity in the id lets `cleanStale` tell a dead process's sandboxes apart.
    const id = `${SANDBOX_PREFIX}${formatProcessToken(currentProcess())}-${randomBytes(6).toString("hex")}`;
    const bundle = join(this.#workDir, id);
    const signal = options.signal;
    throwIfAborted(signal, proc);
    if (proc.args.length === 0) throw new TsbuildError("USAGE", "Cannot run a process: args is empty");
    const limited = proc.limits !== undefined && Object.values(proc.limits).some((v) => v !== undefined);
    if (this.#cgroupParent === null && limited) {
      throw new TsbuildError("SYSTEM", `Cannot apply resource limits to "${describeCommand(proc.args)}": sandboxes get no cgroup here`, {
        hint: "Run tsbuild as root on a host whose cgroup tree is writable, or drop the limits",
      });
    }
    const network = proc.network === undefined || proc.network === "default" ? this.#defaultNetwork : proc.network;
    // The bundle's few small files are written with synchronous calls, as the snapshot
    // records are (snapshotter/snapshot-metadata.ts): microseconds each, where a hop through
    // the thread pool costs far more on every RUN's path.
    mkdirSync(this.#workDir, { recursive: true, mode: 0o700 });
    mkdirSync(bundle, { mode: 0o700 });
    // Taken (or opened) while the bundle is prepared; given back, or closed, when the run is over.
    const pending = network === "isolated" ? this.#networks.acquire() : undefined;
    pending?.catch(() => undefined); // awaited below, or in the cleanup when preparing failed first
    // A run with secrets gets its config and secrets in memory, in the runtime's own mount namespace.
    const inMemory = holdsSecrets(proc);
    const runtime = (proc.secretEnv?.length ?? 0) > 0 ? (this.#secretEnvRuntime ?? this.runtime) : this.runtime;
    // A cgroup of its own only where it is needed: for limits, and always with runc (which
    // makes one anyway). Moving a process into a v1 cgroup waits for an RCU grace period
    // (about 10 ms, idle time) when no other move happened just before: every RUN of a build.
    // The pid namespace still takes every process down with the sandbox's init.
    const cgroup = this.#cgroupParent !== null && (limited || runtime.name !== "crun");
    const privateDir = join(bundle, "private");
    const privateFiles: PrivateFile[] = [];
    let prepared: PreparedRunMounts | undefined;
    let stubs: string[] = [];
    let containerStarted = false;
    let sandboxNetwork: SandboxNetwork | undefined;
    try {
      const user = await resolveRootfsUser(root, proc.user ?? "");
      const cwd = posix.resolve("/", proc.cwd ?? "/");
      await ensureWorkdir(root, cwd, user);
      const env = completeEnv(proc.env ?? [], user.home);
      const hostname = proc.hostname ?? this.#hostname;

      const hostsPath = join(bundle, "hosts");
      const resolvPath = join(bundle, "resolv.conf");
      writeFileSync(hostsPath, createHostsFile({ hostname, extraHosts: proc.extraHosts }), { mode: 0o644 });
      if (pending !== undefined) sandboxNetwork = await pending;
      writeFileSync(resolvPath, sandboxNetwork?.resolvConf ?? (await createResolvConf()), { mode: 0o644 });
      prepared = await prepareRunMounts(proc.mounts ?? [], {
        scratchDir: bundle,
        privateDir,
        privateFiles,
        cacheMountRoot: this.#cacheMountRoot,
        secrets: options.secrets,
        ssh: options.ssh,
        signal,
      });
      const spec = createRuntimeSpec(root, {
        args: proc.args,
        env,
        cwd,
        user,
        hostname,
        network: network === "isolated" ? { namespacePath: sandboxNetwork!.namespacePath } : network,
        mounts: [bindMount(hostsPath, "/etc/hosts", true), bindMount(resolvPath, "/etc/resolv.conf", true), ...prepared.mounts],
        ...(cgroup ? { cgroupsPath: `${this.#cgroupParent}/${id}` } : {}),
        limits: proc.limits,
        rlimits: this.#rlimits,
        ...(proc.security === "insecure" ? { insecure: await insecurePrivileges() } : {}),
      });
      await addPrecompiledSeccomp(spec, runtime, this.#probeDir);
      if (inMemory) {
        await mkdir(privateDir, { mode: 0o700 });
        privateFiles.push({ name: "config.json", data: Buffer.from(serializeRuntimeJson(spec)), uid: 0, gid: 0, mode: 0o600 });
      } else {
        writeFileSync(join(bundle, "config.json"), serializeRuntimeJson(spec));
      }
      stubs = await claimMountStubs(root, spec.mounts.map((m) => m.destination));
      writeFileSync(join(bundle, STUBS_FILE), JSON.stringify(stubs));
      crashPoint("executor.bundle-written");
      throwIfAborted(signal, proc);

      containerStarted = true;
      const outcome = await this.#start(runtime, id, bundle, inMemory ? { dir: privateDir, files: privateFiles } : undefined, { ...options, cgroup });
      if (outcome.aborted) throw cancelledError(proc, signal);
      if (outcome.exitCode === 0) return { exitCode: 0, durationMs: Date.now() - started, containerId: id };
      throw this.#failure(runtime, proc, outcome);
    } finally {
      // `run` removes the container when it ends normally; a left state dir means it did not,
      // and skipping the extra runtime call when it is gone saves a process start per RUN.
      if (containerStarted && existsSync(join(runtime.stateDir, id))) await runtime.delete(id);
      const opened = sandboxNetwork ?? (await pending?.catch(() => undefined)); // its failure was this run's error
      if (opened !== undefined) await this.#networks.release(opened, { reusable: proc.security !== "insecure" });
      await releaseMountStubs(stubs);
      await prepared?.release();
      // Not synchronous: unlinking waits on the file system's journal while another step's
      // unmount flushes its writes, which would hold up every other step of the build.
      await rm(bundle, { recursive: true, force: true });
    }
  }

  /** Closes the default networks kept for later runs. Runs after this open their own again. */
  async close(): Promise<void> {
    await this.#networks.close();
  }

  /**
   * Removes what runs of dead tsbuild processes left: their containers (killed first), their
   * bundles and scratch files, and the mount points they created in rootfs directories that
   * still exist. Runs of live processes, this one included, are not touched.
   */
  async cleanStale(): Promise<StaleCleanup> {
    return reclaimSandboxes({ workDir: this.#workDir, runtimes: this.#secretEnvRuntime === undefined ? [this.runtime] : [this.runtime, this.#secretEnvRuntime] });
  }

  async #start(
    runtime: OciRuntime,
    id: string,
    bundle: string,
    privateBundle: { dir: string; files: PrivateFile[] } | undefined,
    options: ExecRunOptions & { cgroup: boolean },
  ): Promise<RunOutcome> {
    const runtimeLog = join(bundle, "runtime.log");
    await runtime.ready();
    const command = runtime.command(["run", "--bundle", privateBundle?.dir ?? bundle, id], runtimeLog, { cgroups: options.cgroup });
    const { file, args } = privateBundle === undefined ? command : privateBundleCommand(command, privateBundle.dir);
    const tail = new LogTail();
    let log: WriteStream | undefined;
    let logError: Error | undefined;
    if (options.logPath !== undefined) {
      await mkdir(dirname(options.logPath), { recursive: true });
      log = createWriteStream(options.logPath, { flags: "w" });
      log.on("error", (error) => (logError ??= error));
    }
    // The private bundle's files go in on stdin; otherwise the runtime's stdin is /dev/null.
    const child = spawn(file, args, { stdio: [privateBundle === undefined ? "ignore" : "pipe", "pipe", "pipe"] }) as ChildProcessByStdio<Writable | null, Readable, Readable>;
    if (privateBundle !== undefined && child.stdin !== null) {
      // A wrapper that fails before reading says so on stderr and in its exit status.
      child.stdin.on("error", () => undefined);
      child.stdin.end(packPrivateFiles(privateBundle.files));
    }
    let exited = false;
    let aborted = false;
    let output = false;
    const onChunk = (stream: OutputStream) => (chunk: Buffer) => {
      // Once per run, so the count of crash points does not depend on how output is chunked.
      if (!output) {
        output = true;
        crashPoint("executor.output");
      }
      tail.push(chunk);
      log?.write(chunk);
      try {
        options.onOutput?.(stream, chunk);
      } catch {
        // A listener's bug must not break the run or lose the log.
      }
    };
    child.stdout.on("data", onChunk("stdout"));
    child.stderr.on("data", onChunk("stderr"));

    const onAbort = () => {
      aborted = true;
      void this.#killUntilGone(runtime, id, () => exited, child.pid);
    };
    options.signal?.addEventListener("abort", onAbort, { once: true });
    if (options.signal?.aborted) onAbort(); // aborted between the last check and the listener
    try {
      const { code, signal, error } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>((done) => {
        child.once("error", (error) => done({ code: null, signal: null, error }));
        child.once("close", (code, signal) => done({ code, signal }));
      });
      exited = true;
      if (error !== undefined) {
        throw new TsbuildError("SYSTEM", `Cannot start OCI runtime "${runtime.path}": ${error.message}`, { cause: error });
      }
      const exitCode = code ?? 128 + signalNumber(signal);
      const runtimeErrors = runtimeLogMessages(readTextOrEmptySync(runtimeLog));
      if (log !== undefined) await new Promise<void>((done) => log!.end(done));
      if (logError !== undefined) {
        // The step's log must be whole; a run whose log was cut short is not a clean result.
        throw new TsbuildError("SYSTEM", `Cannot write the log "${options.logPath}": ${logError.message}`, { cause: logError });
      }
      return { exitCode, aborted, tail, runtimeErrors };
    } finally {
      exited = true;
      options.signal?.removeEventListener("abort", onAbort);
      if (log !== undefined && !log.closed) log.destroy();
    }
  }

  /**
   * Kills the sandbox's init (the kernel then kills the rest of its pid namespace). The
   * container may not exist yet when the abort comes in, so keep trying until the runtime's
   * `run` has returned; if it hangs regardless, kill the runtime process itself.
   */
  async #killUntilGone(runtime: OciRuntime, id: string, gone: () => boolean, runtimePid: number | undefined): Promise<void> {
    const deadline = Date.now() + KILL_GRACE_MS;
    while (!gone()) {
      await runtime.kill(id, "KILL");
      if (gone()) return;
      if (Date.now() > deadline && runtimePid !== undefined) {
        try {
          process.kill(runtimePid, "SIGKILL");
        } catch {
          // already gone
        }
        return;
      }
      await sleep(25);
    }
  }

  #failure(runtime: OciRuntime, proc: ExecProcess, outcome: RunOutcome): TsbuildError {
    const command = describeCommand(proc.args);
    const runtimeError = outcome.runtimeErrors[0];
    if (runtimeError !== undefined && !/exec|executable|chdir|cwd/i.test(runtimeError)) {
      return new TsbuildError("SYSTEM", `OCI runtime "${runtime.name}" failed to run "${command}": ${runtimeError}`, {
        hint: "Check that the runtime works here: tsbuild info",
      });
    }
    const tail = [outcome.tail.lines(), runtimeError].filter((t) => t !== undefined && t !== "").join("\n");
    const message =
      runtimeError !== undefined
        ? `Cannot start "${command}": ${runtimeError}`
        : // BuildKit's words (solver/llbsolver/ops/exec.go and its ExitError), so logs read the same.
          `process "${command}" did not complete successfully: exit code: ${outcome.exitCode}`;
    return new ExecError(message, { exitCode: outcome.exitCode, logTail: tail });
  }
}

interface RunOutcome {
  exitCode: number;
  aborted: boolean;
  tail: LogTail;
  runtimeErrors: string[];
}

/** Adds PATH (BuildKit's default) and HOME (from the user's passwd entry) when missing. */
function completeEnv(env: string[], home: string): string[] {
  const result = [...env];
  const has = (key: string) => result.some((entry) => entry.startsWith(`${key}=`));
  if (!has("PATH")) result.unshift(`PATH=${DEFAULT_PATH}`);
  if (!has("HOME")) result.push(`HOME=${home}`);
  return result;
}

function describeCommand(args: string[]): string {
  const text = args.join(" ");
  return text.length > 200 ? `${text.slice(0, 197)}...` : text;
}

function throwIfAborted(signal: AbortSignal | undefined, proc: ExecProcess): void {
  if (signal?.aborted) throw cancelledError(proc, signal);
}

function cancelledError(proc: ExecProcess, signal: AbortSignal | undefined): TsbuildError {
  return new TsbuildError("CANCELLED", `Run of "${describeCommand(proc.args)}" cancelled`, { cause: signal?.reason });
}

function signalNumber(signal: NodeJS.Signals | null): number {
  return signal === null ? 0 : (constants.signals[signal] ?? 0);
}
