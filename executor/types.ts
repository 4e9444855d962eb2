/**
 * The executor's vocabulary: what a caller (the solver for RUN, the CLI for `tsbuild run`)
 * describes, and what it gets back. Pure data, no behaviour.
 */

/**
 * `default` means what the executor was configured with (a network namespace of its own
 * with outbound access, see `openSandboxNetwork`, unless its `defaultNetwork` option says
 * otherwise), as BuildKit's `--network=default` does.
 */
export type NetworkMode = "default" | "host" | "none";

/** Limits applied through the cgroup the sandbox is placed in. */
export interface ResourceLimits {
  /** Memory limit in bytes. */
  memoryBytes?: number;
  /** Most processes (and threads) alive at once. */
  pids?: number;
  /** CPU time as a number of CPUs, e.g. 0.5 or 2. */
  cpus?: number;
}

/** RUN --mount=type=cache: a persistent directory shared between runs by `id`. */
export interface CacheMount {
  type: "cache";
  target: string;
  /** Defaults to `target`, as in BuildKit. */
  id?: string;
  /**
   * `shared` (default): every user at once; `locked`: one user at a time, across processes;
   * `private`: a concurrent user gets its own directory instead of waiting.
   */
  sharing?: "shared" | "private" | "locked";
  readonly?: boolean;
  /** Owner and mode given to the directory when it is first created (unless `seed` gives them). */
  uid?: number;
  gid?: number;
  mode?: number;
  /**
   * `from=`: a directory copied into the cache directory when it is first created (its
   * owner and mode included). Caches seeded from different `key`s are different caches,
   * as BuildKit keys a seeded cache by its id and the seed's ref.
   */
  seed?: { path: string; key: string; ignore?: { root: string; patterns: readonly string[] } };
}

/** RUN --mount=type=bind: a host path the caller chose (a context dir, another stage's snapshot). */
export interface BindMount {
  type: "bind";
  target: string;
  source: string;
  /** Writes go to a throw-away copy of `source`; the source itself is never changed. */
  readwrite?: boolean;
  /**
   * For a build context: its `.dockerignore` patterns, relative to `root`. The process sees
   * a copy without the ignored files, as BuildKit serves a bind of the context.
   */
  ignore?: { root: string; patterns: readonly string[] };
}

/** RUN --mount=type=tmpfs */
export interface TmpfsMount {
  type: "tmpfs";
  target: string;
  sizeBytes?: number;
}

/** RUN --mount=type=secret: the secret `id` from the run's secret sources, read-only. */
export interface SecretMount {
  type: "secret";
  id: string;
  /** Defaults to `/run/secrets/<id>`. */
  target?: string;
  /** When true, a secret missing from the sources fails the run; otherwise the mount is skipped. */
  required?: boolean;
  uid?: number;
  gid?: number;
  /** Defaults to 0o400. */
  mode?: number;
}

/**
 * RUN --mount=type=ssh: a socket at `target` that reaches the ssh agent given for `id`
 * (a proxy socket owned by `uid`:`gid` with `mode`, so the host's socket is never exposed).
 */
export interface SshMount {
  type: "ssh";
  id: string;
  target: string;
  /** When true, an id missing from the run's ssh sources fails the run; otherwise the mount is skipped. */
  required?: boolean;
  uid?: number;
  gid?: number;
  /** Defaults to 0o600. */
  mode?: number;
}

export type RunMount = CacheMount | BindMount | TmpfsMount | SecretMount | SshMount;

/** Where a secret's bytes come from: a host file or the value of an environment variable. */
export type SecretSource = { file: string } | { env: string };

/** Where an ssh id leads: the unix socket of a running ssh agent (`$SSH_AUTH_SOCK`). */
export interface SshSource {
  socket: string;
}

/**
 * `sandbox` (default): Docker's capabilities, masked and read-only /proc paths, a read-only
 * /sys. `insecure` (`RUN --security=insecure`, BuildKit's entitlement `security.insecure`):
 * every capability this process has, nothing masked or read-only, /sys writable, every
 * device allowed and the devices BuildKit adds (fuse, tun, loop ...).
 */
export type SecurityMode = "sandbox" | "insecure";

/** One process to run in a sandbox over a rootfs. */
export interface ExecProcess {
  args: string[];
  /** `KEY=value` entries. PATH is added when missing; HOME from the user's passwd entry. */
  env?: string[];
  /** Absolute; created with the user's ids when missing. Defaults to `/`. */
  cwd?: string;
  /** `name`, `uid`, `name:group`, `uid:gid`; resolved in the rootfs' /etc/passwd and /etc/group. */
  user?: string;
  mounts?: RunMount[];
  network?: NetworkMode;
  /** Defaults to the executor's hostname (`buildkitsandbox`). */
  hostname?: string;
  /** Extra /etc/hosts lines, as `--add-host name:ip` gives them. */
  extraHosts?: Array<{ host: string; ip: string }>;
  limits?: ResourceLimits;
  /** Default `sandbox`. */
  security?: SecurityMode;
  /** Names of `env` entries that hold secrets (`RUN --mount=type=secret,env=...`): the run is kept off the disk. */
  secretEnv?: readonly string[];
}

export type OutputStream = "stdout" | "stderr";

/** Per-run options: how the caller watches and stops it. */
export interface ExecRunOptions {
  /** Kills the process tree and removes every trace of the sandbox. */
  signal?: AbortSignal;
  /** Output as it arrives, in order within each stream. */
  onOutput?: (stream: OutputStream, chunk: Buffer) => void;
  /** All output of both streams, whole, in arrival order. Parent directories are created. */
  logPath?: string;
  /** Sources for `type: "secret"` mounts, by id. */
  secrets?: Record<string, SecretSource>;
  /** Agents for `type: "ssh"` mounts, by id. */
  ssh?: Record<string, SshSource>;
}

/** A run that exited 0. (A non-zero exit throws an `ExecError`.) */
export interface ExecResult {
  exitCode: 0;
  durationMs: number;
  /** The sandbox id given to the runtime, unique per run. */
  containerId: string;
}
