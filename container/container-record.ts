import { mkdir, readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { TsbuildError } from "../errors.js";
import type { Digest } from "../oci/digest.js";
import { writeFileAtomic } from "../store/atomic-file.js";
import type { Worker } from "../worker/worker.js";
import type { HealthcheckSettings } from "./health-check.js";
import type { PortBinding } from "./port-bindings.js";
import type { RestartPolicy } from "./restart-policy.js";
import { compareStrings } from "../util/compare-strings.js";

/** A mount of a container: a host path (`-v /a:/b`) or a volume (`-v name:/b`, or an image VOLUME). */
export interface ContainerMount {
  type: "bind" | "volume";
  /** Host path for a bind; volume name for a volume. */
  source: string;
  target: string;
  readonly: boolean;
  /** An anonymous volume made for this container (removed by `rm -v`). */
  anonymous?: boolean;
}

/**
 * What `create` decided once; only `rename` changes it afterwards (its name). Stored as
 * `<root>/containers/<id>/container.json`. Fields added later are optional: older records lack them.
 */
export interface ContainerRecord {
  id: string;
  name: string;
  /** The image as the user named it. */
  image: string;
  /** The image id (config digest) and its manifest digest, which the container's ref holds. */
  imageId: Digest;
  manifestDigest: Digest;
  created: string;
  /** The active snapshot holding the container's writable layer. */
  snapshotKey: string;
  /**
   * The committed snapshot under it that holds only mount points (/etc/hosts, volume
   * targets ...), like docker's init layer: so they are in no diff and no commit.
   */
  initKey: string;
  /** The runtime's container id. */
  runtimeId: string;
  /** The process: `entrypoint` then `cmd`, as `args`. */
  args: string[];
  entrypoint: string[];
  cmd: string[];
  /** Without HOSTNAME, which each start adds (so a commit does not keep it). */
  env: string[];
  cwd: string;
  user: string;
  hostname: string;
  /** `default`: a network namespace of its own with outbound access (see `openSandboxNetwork`). */
  network: "default" | "host" | "none";
  /** `-p` and `-P`; only with the default network. */
  ports?: PortBinding[];
  /** `--add-host NAME:IP` lines of /etc/hosts. */
  extraHosts?: Array<{ host: string; ip: string }>;
  /** `--dns`: the nameservers of /etc/resolv.conf instead of the network's. */
  dns?: string[];
  /** `--restart`; absent is `no`. */
  restartPolicy?: RestartPolicy;
  /** The image's HEALTHCHECK (absent: none, or `NONE`). */
  healthcheck?: HealthcheckSettings;
  mounts: ContainerMount[];
  tty: boolean;
  interactive: boolean;
  autoRemove: boolean;
  stopSignal: string;
}

/** Where a container's files live. */
export interface ContainerPaths {
  dir: string;
  record: string;
  state: string;
  log: string;
  rootfs: string;
  bundle: string;
  /** The health checks' results, written by the shim (see health-check.ts). */
  health: string;
  /** Present from a `stop`, `kill` or `rm -f` until the next start: the shim must not restart the container. */
  stopRequest: string;
  /** The terminal size `resizeContainer` asked for last. */
  consoleSize: string;
}

export function containerPaths(root: string, id: string): ContainerPaths {
  const dir = join(root, "containers", id);
  return {
    dir,
    record: join(dir, "container.json"),
    state: join(dir, "state.json"),
    log: join(dir, "container.log"),
    rootfs: join(dir, "rootfs"),
    bundle: join(dir, "bundle"),
    health: join(dir, "health.json"),
    stopRequest: join(dir, "stop-requested"),
    consoleSize: join(dir, "console-size.json"),
  };
}

export async function writeContainerRecord(root: string, record: ContainerRecord): Promise<void> {
  const paths = containerPaths(root, record.id);
  await mkdir(paths.dir, { recursive: true, mode: 0o700 });
  await writeFileAtomic(paths.record, `${JSON.stringify(record, null, 2)}\n`);
}

/** Every readable container record, oldest first. */
export async function readContainerRecords(root: string): Promise<ContainerRecord[]> {
  const dir = join(root, "containers");
  const ids = await readdir(dir).catch(() => [] as string[]);
  const records: ContainerRecord[] = [];
  for (const id of ids) {
    if (!/^[0-9a-f]{64}$/.test(id)) continue;
    const record = await readRecord(containerPaths(root, id).record);
    if (record !== undefined) records.push(record);
  }
  return records.sort((a, b) => compareStrings(a.created, b.created));
}

/** The container a user named: its name, full id or a unique id prefix (as docker resolves them). */
export async function findContainer(worker: Worker, text: string): Promise<ContainerRecord> {
  const records = await readContainerRecords(worker.root);
  const wanted = text.replace(/^\//, "");
  const byName = records.find((record) => record.name === wanted || record.id === wanted);
  if (byName !== undefined) return byName;
  const matches = wanted.length > 0 ? records.filter((record) => record.id.startsWith(wanted)) : [];
  if (matches.length === 1) return matches[0];
  if (matches.length > 1) {
    throw new TsbuildError("CONFLICT", `Cannot find container "${text}": the id prefix matches ${matches.length} containers`, { hint: "Give more of the id" });
  }
  throw new TsbuildError("NOT_FOUND", `No such container "${text}"`, { hint: 'List containers with "tsbuild ps -a"' });
}

/**
 * docker's `rename`: a new unique name for a container, running or not. The record is
 * rewritten under the store's lock, so two renames (or a create) cannot take one name twice.
 */
export async function renameContainer(worker: Worker, text: string, newName: string): Promise<ContainerRecord> {
  checkContainerName(newName);
  const record = await findContainer(worker, text);
  return worker.store.withLock(async () => {
    const current = await readRecord(containerPaths(worker.root, record.id).record);
    if (current === undefined) throw new TsbuildError("NOT_FOUND", `No such container "${text}"`);
    if (current.name === newName) return current;
    if ((await readContainerRecords(worker.root)).some((other) => other.name === newName)) {
      throw containerNameInUse(newName, `Cannot rename container "${current.name}" to "${newName}"`);
    }
    const renamed = { ...current, name: newName };
    await writeContainerRecord(worker.root, renamed);
    return renamed;
  });
}

/** USAGE unless `name` is a valid container name (docker's rule). */
export function checkContainerName(name: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) {
    throw new TsbuildError("USAGE", `Invalid container name "${name}": use letters, digits and "_.-", starting with a letter or digit`);
  }
}

export function containerNameInUse(name: string, action = `Cannot create container "${name}"`): TsbuildError {
  return new TsbuildError("CONFLICT", `${action}: the name is in use`, { hint: "Remove that container, or choose another name" });
}

async function readRecord(path: string): Promise<ContainerRecord | undefined> {
  try {
    return JSON.parse(await readFile(path, "utf8")) as ContainerRecord;
  } catch {
    return undefined;
  }
}
