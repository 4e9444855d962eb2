import { readFile } from "node:fs/promises";
import { TsbuildError } from "../errors.js";
import { resolveInRoot } from "../executor/resolve-in-root.js";
import type { OutputStream, ResourceLimits, RunMount, SecretSource } from "../executor/types.js";
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
  /** Memory, pids and CPU limits of the sandbox: how the step runs, not what it makes (not in the cache key). */
  limits?: ResourceLimits;
  signal?: AbortSignal;
  onOutput?: (stream: OutputStream, chunk: Buffer) => void;
}

/**
 * Runs a RUN over `rootfs` (its root mount, already mounted writable): the other `--mount`s
 * become executor mounts (bind sources mounted read-only from their snapshots or read in
 * place from the context), secrets are passed by id, and the process gets the RUN's env,
 * cwd, user and network.
 */
export async function runExec(rootfs: string, definition: ExecDefinition, options: RunExecOptions): Promise<void> {
  if (definition.security === "insecure") {
    throw new TsbuildError("USAGE", "Cannot run a step with --security=insecure: privileged steps are not supported", {
      hint: "Drop --security=insecure from the RUN",
    });
  }
  const mounts: RunMount[] = [];
  const env = [...definition.env];
  for (const [key, value] of Object.entries(options.proxyEnv ?? {})) env.push(`${key}=${value}`);
  for (const mount of definition.mounts.slice(1)) {
    switch (mount.type) {
      case "layer":
      case "bind": {
        const source = await bindSource(options.inputs[mount.input], mount.selector, options.mounts);
        mounts.push({ type: "bind", target: mount.target, source, readwrite: !mount.readonly });
        break;
      }
      case "cache":
        mounts.push({ type: "cache", target: mount.target, id: mount.id, sharing: mount.sharing, readonly: mount.readonly });
        break;
      case "tmpfs":
        mounts.push({ type: "tmpfs", target: mount.target, ...(mount.size > 0 ? { sizeBytes: mount.size } : {}) });
        break;
      case "secret": {
        if (mount.target !== undefined || mount.env === undefined) {
          mounts.push({ type: "secret", id: mount.id, required: !mount.optional, uid: mount.uid, gid: mount.gid, mode: mount.mode, ...(mount.target === undefined ? {} : { target: mount.target }) });
        }
        if (mount.env !== undefined) {
          const value = await readSecret(mount.id, options.secrets?.[mount.id], mount.optional);
          if (value !== undefined) env.push(`${mount.env}=${value}`);
        }
        break;
      }
      case "ssh":
        if (!mount.optional) {
          throw new TsbuildError("USAGE", `Cannot mount ssh agent "${mount.id}": ssh forwarding is not supported yet`, { hint: "Mark it optional with required=false" });
        }
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
      mounts,
      ...(options.limits === undefined ? {} : { limits: options.limits }),
    },
    {
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      ...(options.onOutput === undefined ? {} : { onOutput: options.onOutput }),
      ...(options.secrets === undefined ? {} : { secrets: options.secrets }),
    },
  );
}

async function bindSource(input: VertexResult | undefined, selector: string, mounts: SnapshotMounts): Promise<string> {
  if (input === undefined || input.kind === "empty") {
    throw new TsbuildError("USAGE", `Cannot bind-mount "${selector}": its source is empty`);
  }
  if (input.kind === "directory") return resolveInContext(input.path, selector);
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
