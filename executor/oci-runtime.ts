import { execFile } from "node:child_process";
import { delimiter, isAbsolute, join } from "node:path";
import { isExecutableSync } from "../util/is-executable.js";
import { packageFile } from "../util/package-file.js";
import { staticBusybox } from "../util/static-busybox.js";
import { sealedCopy, type SealedCopy } from "../util/system-helper.js";
import { HYBRID_CGROUP2_MOUNT } from "./cgroup-mode.js";

/** The OCI runtimes tsbuild drives. runc is BuildKit's default. */
export type RuntimeName = "runc" | "crun";

export const RUNTIME_NAMES: readonly RuntimeName[] = ["runc", "crun"];

export interface OciRuntimeOptions {
  name: RuntimeName;
  /** The runtime's binary. */
  path: string;
  /** The runtime's state directory (`--root`), so our containers never mix with anyone else's. */
  stateDir: string;
  /**
   * Start the runtime in a private mount namespace with the cgroup2 mount of a hybrid
   * host unmounted. crun 1.8 refuses hybrid hosts outright; without the cgroup2 mount it
   * sees a plain v1 host and works.
   */
  hybridWrapper?: boolean;
}

export interface RuntimeCommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** One OCI runtime binary with its state directory: builds its command lines and runs its small commands. */
export class OciRuntime {
  readonly name: RuntimeName;
  readonly path: string;
  readonly stateDir: string;
  readonly hybridWrapper: boolean;
  /** A sealed copy of the binary to run instead, once the system helper has made it. */
  #sealed: SealedCopy | undefined;
  /** Settles when the sealed copy asked for is there or will not be. */
  #sealing: Promise<void> = Promise.resolve();

  constructor(options: OciRuntimeOptions) {
    this.name = options.name;
    this.path = options.path;
    this.stateDir = options.stateDir;
    this.hybridWrapper = options.hybridWrapper ?? false;
  }

  /**
   * Runs the binary from a sealed in-memory copy (util/system-helper.ts `sealedCopy`), which
   * spares the runtime copying itself on every start, once `ready()`; where there is no
   * helper, or the copy fails, from its file.
   */
  preferSealedCopy(): void {
    this.#sealing = sealedCopy(this.path).then(
      (copy) => void (this.#sealed = copy),
      () => undefined, // the runtime copies itself, as without the helper
    );
  }

  /**
   * Settles once the sealed copy asked for is made (or failed). The helper makes it in well
   * under a millisecond, and it is asked for when the executor opens, so a step's first
   * wait here is over before its mounts are.
   */
  ready(): Promise<void> {
    return this.#sealing;
  }

  /**
   * The file and argv that run `<runtime> --root <state> [--log <file>] <args>`. With
   * `cgroups: false`, crun touches no cgroup at all (runc has no such switch).
   */
  command(args: string[], logPath?: string, options: { cgroups?: boolean } = {}): { file: string; args: string[] } {
    const global = ["--root", this.stateDir];
    if (logPath !== undefined) global.push("--log", logPath, "--log-format", "json");
    if (options.cgroups === false && this.name === "crun") global.push("--cgroup-manager=disabled");
    const binary = this.#sealed?.path ?? this.path;
    if (!this.hybridWrapper) return { file: binary, args: [...global, ...args] };
    const compiled = compiledHybridWrapper();
    if (compiled !== undefined) return { file: compiled, args: [HYBRID_CGROUP2_MOUNT, binary, ...global, ...args] };
    // In a user namespace (rootless) the mount is locked to its parent: cover it instead.
    const script = `umount ${HYBRID_CGROUP2_MOUNT} 2>/dev/null || mount -t tmpfs -o ro tsbuild-no-cgroup2 ${HYBRID_CGROUP2_MOUNT} 2>/dev/null; exec "$0" "$@"`;
    return {
      file: "unshare",
      args: ["--mount", "--propagation", "private", ...wrapperShell(), "-c", script, this.path, ...global, ...args],
    };
  }

  /** Runs a short runtime command (kill, delete, list, state) and collects its output. */
  exec(args: string[]): Promise<RuntimeCommandResult> {
    const { file, args: argv } = this.command(args);
    return new Promise((resolve) => {
      execFile(file, argv, { encoding: "utf8", timeout: 30_000 }, (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : null;
        resolve({ code, stdout, stderr });
      });
    });
  }

  /** Sends `signal` to the container's init; with a pid namespace, the kernel then kills the rest. */
  async kill(id: string, signal = "KILL"): Promise<boolean> {
    return (await this.exec(["kill", id, signal])).code === 0;
  }

  /** Removes the container, killing whatever still runs in it. Missing containers are fine. */
  async delete(id: string): Promise<void> {
    await this.exec(["delete", "--force", id]);
  }

  /** Ids of the containers in this runtime's state directory. */
  async list(): Promise<string[]> {
    const result = await this.exec(["list", "--quiet"]);
    return result.stdout.split("\n").map((line) => line.trim()).filter((line) => line !== "");
  }
}

let builtWrapper: string | null | undefined;

/**
 * The hybrid wrapper the build compiled (executor/hybrid-wrapper.c: one exec where the shell
 * version takes three), or undefined where there was no compiler.
 */
function compiledHybridWrapper(): string | undefined {
  if (builtWrapper === undefined) {
    const path = packageFile("dist/executor/hybrid-wrapper");
    builtWrapper = isExecutableSync(path) ? path : null;
  }
  return builtWrapper ?? undefined;
}

const FALLBACK_DIRS = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];

/**
 * The shell of the hybrid wrapper: busybox runs its `umount` in-process, about half the
 * wrapper's cost, which is paid on every RUN. Plain `sh` (and the umount program) where there is no busybox.
 */
function wrapperShell(): string[] {
  const busybox = staticBusybox();
  return busybox === undefined ? ["sh"] : [busybox, "sh"];
}

/** The absolute path of an executable named `name` on PATH (or the usual system dirs). */
export async function findExecutable(name: string): Promise<string | undefined> {
  if (isAbsolute(name)) return isExecutableSync(name) ? name : undefined;
  const dirs = [...(process.env.PATH ?? "").split(delimiter).filter((d) => d !== ""), ...FALLBACK_DIRS];
  for (const dir of dirs) {
    const candidate = join(dir, name);
    if (isExecutableSync(candidate)) return candidate;
  }
  return undefined;
}

