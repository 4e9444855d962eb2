import { join, resolve } from "node:path";
import { createRuntimeSpec, DEFAULT_PATH } from "./create-runtime-spec.js";
import { defaultRlimits } from "./default-rlimits.js";
import { ensureWorkdir } from "./ensure-workdir.js";
import { OciRuntime } from "./oci-runtime.js";
import { runtimeStateRoot } from "./rootless-mode.js";
import { resolveRootfsUser } from "./rootfs-user.js";
import { detectDefaultRuntime } from "./runtime-probe.js";
import type { RuntimeMount, RuntimeProcess, RuntimeSpec } from "./runtime-spec.js";

/**
 * The OCI runtime as long-lived containers use it (`tsbuild run -d`, `exec`, `stop`): its
 * own state directory, apart from the executor's RUN sandboxes, so the executor's clean-up
 * of dead builds never touches a container that outlived the tsbuild that started it.
 */
export interface ContainerRuntime {
  runtime: OciRuntime;
  /** Whether sandboxes can get a cgroup of their own here (see `RuntimeProbe.cgroups`). */
  cgroups: boolean;
}

/** Opens the runtime for containers of `root`: the executor's probe, state in `<root>/runtime/containers-<name>`. */
export async function openContainerRuntime(root: string): Promise<ContainerRuntime> {
  const probe = await detectDefaultRuntime();
  const runtime = new OciRuntime({
    name: probe.name,
    path: probe.path!,
    stateDir: resolve(join(runtimeStateRoot(root), `containers-${probe.name}`)),
    hybridWrapper: probe.hybridWrapper,
  });
  return { runtime, cgroups: probe.cgroups };
}

/** The process of a container or of an `exec` into it. */
export interface ContainerProcessOptions {
  args: string[];
  /** `KEY=value`; PATH and HOME are added when missing. */
  env: string[];
  /** Default `/`; created (owned by the user) when missing, as docker does for -w. */
  cwd?: string;
  /** As `USER` takes it; resolved in the rootfs' /etc/passwd and /etc/group. */
  user?: string;
  /** Give the process a terminal (the runtime's console). */
  terminal?: boolean;
}

export interface ContainerSpecOptions extends ContainerProcessOptions {
  hostname: string;
  network: "host" | "none";
  /** Mounts after the standard ones (/etc/hosts, volumes, binds). */
  mounts: RuntimeMount[];
  /** The runtime id, for the cgroup path. */
  id: string;
  cgroups: boolean;
}

/** The config.json of a container: the executor's RUN sandbox, with a terminal when asked. */
export async function createContainerSpec(rootfs: string, options: ContainerSpecOptions): Promise<RuntimeSpec> {
  const process = await createContainerProcess(rootfs, options);
  const spec = createRuntimeSpec(rootfs, {
    args: process.args,
    env: process.env,
    cwd: process.cwd,
    user: { uid: process.user.uid, gid: process.user.gid, additionalGids: process.user.additionalGids ?? [], home: "/" },
    hostname: options.hostname,
    network: options.network,
    mounts: options.mounts,
    ...(options.cgroups ? { cgroupsPath: `tsbuild-containers/${options.id}` } : {}),
    rlimits: await defaultRlimits(),
  });
  spec.process.terminal = options.terminal === true;
  return spec;
}

/** The process object for config.json or `runc exec --process`: user resolved, cwd created, env completed. */
export async function createContainerProcess(rootfs: string, options: ContainerProcessOptions): Promise<RuntimeProcess> {
  const user = await resolveRootfsUser(rootfs, options.user ?? "");
  const cwd = options.cwd === undefined || options.cwd === "" ? "/" : options.cwd;
  await ensureWorkdir(rootfs, cwd, user);
  const env = [...options.env];
  const has = (key: string) => env.some((entry) => entry.startsWith(`${key}=`));
  if (!has("PATH")) env.unshift(`PATH=${DEFAULT_PATH}`);
  if (!has("HOME")) env.push(`HOME=${user.home}`);
  if (options.terminal === true && !has("TERM")) env.push("TERM=xterm");
  const spec = createRuntimeSpec(rootfs, { args: options.args, env, cwd, user, hostname: "x", network: "host", rlimits: await defaultRlimits() });
  return { ...spec.process, terminal: options.terminal === true };
}
