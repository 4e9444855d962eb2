import { readFile } from "node:fs/promises";
import { TsbuildError } from "../errors.js";
import { resolveInRoot } from "../executor/resolve-in-root.js";
import type { CacheMount, OutputStream, ResourceLimits, RunMount, SecretSource, SshSource } from "../executor/types.js";
import { DockerignoreMatcher } from "../frontend/dockerignore.js";
import type { ExecDefinition } from "../frontend/graph.js";
import { resolveInContext } from "./resolve-in-context.js";
import type { SnapshotMounts } from "./snapshot-mounts.js";
import type { ProcessRunner, VertexResult } from "./types.js";

export interface RunExecOptions {
  executor: ProcessRunner;
  /** The vertex's inputs, solved, by index. */
  inputs: readonly VertexResult[];
  mounts: SnapshotMounts;
  /** `HTTP_PROXY` and friends: in the environment, never in the cache key. */
  proxyEnv?: Record<string, string>;
  secrets?: Record<string, SecretSource>;
  /** `--ssh`: agents for `--mount=type=ssh`, by id. Only the ids are in definitions and cache keys. */
  ssh?: Record<string, SshSource>;
  /** `--allow security.insecure`: whether a `RUN --security=insecure` may run. */
  allowInsecure?: boolean;
  /** Memory, pids and CPU limits of the sandbox: how the step runs, not what it makes (not in the cache key). */
  limits?: ResourceLimits;
  signal?: AbortSignal;
  onOutput?: (stream: OutputStream, chunk: Buffer) => void;
}

/**
 * Runs a RUN over `rootfs` (its root mount, already mounted writable): the other `--mount`s
 * become executor mounts (bind sources mounted read-only from their snapshots or read in
 * place from the context, cache mounts seeded from theirs), secrets and ssh agents are
 * passed by id, and the process gets the RUN's env, cwd, user, network and security mode.
 */
export async function runExec(rootfs: string, definition: ExecDefinition, options: RunExecOptions): Promise<void> {
  if (definition.security === "insecure" && options.allowInsecure !== true) throw insecureNotAllowed();
  const mounts: RunMount[] = [];
  const env = [...definition.env];
  const secretEnv: string[] = [];
  for (const [key, value] of Object.entries(options.proxyEnv ?? {})) env.push(`${key}=${value}`);
  for (const mount of definition.mounts.slice(1)) {
    switch (mount.type) {
      case "layer":
      case "bind": {
        const input = options.inputs[mount.input];
        const source = await bindSource(input, mount.selector, options.mounts);
        // The context as BuildKit sends it: without what .dockerignore leaves out.
        const ignore = input?.kind === "directory" && input.exclude.length > 0 ? { root: input.path, patterns: input.exclude } : undefined;
        mounts.push({ type: "bind", target: mount.target, source, readwrite: !mount.readonly, ...(ignore === undefined ? {} : { ignore }) });
        break;
      }
      case "cache": {
        const seed = await cacheSeed(options.inputs[mount.input], mount.selector, options.mounts);
        mounts.push({ type: "cache", target: mount.target, id: mount.id, sharing: mount.sharing, readonly: mount.readonly, ...(seed === undefined ? {} : { seed }) });
        break;
      }
      case "tmpfs":
        mounts.push({ type: "tmpfs", target: mount.target, ...(mount.size > 0 ? { sizeBytes: mount.size } : {}) });
        break;
      case "secret": {
        if (mount.target !== undefined || mount.env === undefined) {
          mounts.push({ type: "secret", id: mount.id, required: !mount.optional, uid: mount.uid, gid: mount.gid, mode: mount.mode, ...(mount.target === undefined ? {} : { target: mount.target }) });
        }
        if (mount.env !== undefined) {
          const value = await readSecret(mount.id, options.secrets?.[mount.id], mount.optional);
          if (value !== undefined) {
            env.push(`${mount.env}=${value}`);
            secretEnv.push(mount.env);
          }
        }
        break;
      }
      case "ssh":
        mounts.push({ type: "ssh", id: mount.id, target: mount.target, required: !mount.optional, uid: mount.uid, gid: mount.gid, mode: mount.mode });
        break;
    }
  }
  await options.executor.run(
    rootfs,
    {
      args: definition.args,
      env,
      cwd: definition.cwd,
      user: definition.user,
      network: definition.network,
      security: definition.security,
      mounts,
      ...(definition.hostname === undefined ? {} : { hostname: definition.hostname }),
      ...(secretEnv.length === 0 ? {} : { secretEnv }),
      ...(options.limits === undefined ? {} : { limits: options.limits }),
    },
    {
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      ...(options.onOutput === undefined ? {} : { onOutput: options.onOutput }),
      ...(options.secrets === undefined ? {} : { secrets: options.secrets }),
      ...(options.ssh === undefined ? {} : { ssh: options.ssh }),
    },
  );
}

/** The error for an insecure step without the entitlement, as buildx's `--allow` grants it. */
export function insecureNotAllowed(step?: string): TsbuildError {
  const what = step === undefined ? "a step with --security=insecure" : `"${step}"`;
  return new TsbuildError("USAGE", `Cannot run ${what}: entitlement security.insecure is not allowed`, {
    hint: "Pass --allow security.insecure to tsbuild build (allow: [\"security.insecure\"] in the API) if you trust this Dockerfile",
  });
}

/**
 * What seeds a new cache directory: the `from=` stage's or image's `source` directory, or
 * the prepared directory of a cache with uid/gid/mode. Nothing for scratch. The key names
 * the seed (its committed snapshot and the path), so another seed is another cache.
 */
async function cacheSeed(input: VertexResult | undefined, selector: string, mounts: SnapshotMounts): Promise<CacheMount["seed"]> {
  if (input === undefined || input.kind === "empty") return undefined;
  if (input.kind === "directory") {
    const ignore = input.exclude.length > 0 ? { root: input.path, patterns: input.exclude } : undefined;
    const path = await resolveInContext(input.path, selector, ignore === undefined ? {} : { ignore: new DockerignoreMatcher(ignore.patterns) });
    return { path, key: `${input.path}\0${selector}`, ...(ignore === undefined ? {} : { ignore }) };
  }
  const root = await mounts.view(input.key);
  return { path: await resolveInRoot(root, selector), key: `${input.key}\0${selector}` };
}

async function bindSource(input: VertexResult | undefined, selector: string, mounts: SnapshotMounts): Promise<string> {
  if (input === undefined || input.kind === "empty") {
    throw new TsbuildError("USAGE", `Cannot bind-mount "${selector}": its source is empty`);
  }
  if (input.kind === "directory") return resolveInContext(input.path, selector, input.exclude.length > 0 ? { ignore: new DockerignoreMatcher(input.exclude) } : {});
  const root = await mounts.view(input.key);
  return resolveInRoot(root, selector);
}

async function readSecret(id: string, source: SecretSource | undefined, optional: boolean): Promise<string | undefined> {
  if (source === undefined) {
    if (optional) return undefined;
    throw new TsbuildError("USAGE", `Cannot find secret "${id}"`, { hint: `Pass it with --secret id=${id},src=FILE or env=NAME` });
  }
  return "file" in source ? readFile(source.file, "utf8") : process.env[source.env];
}
