import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, readFile, rm, stat } from "node:fs/promises";
import { isIP } from "node:net";
import { isAbsolute, posix } from "node:path";
import { promisify } from "node:util";
import { TsbuildError } from "../errors.js";
import { checkEmulation } from "../executor/emulation.js";
import { resolveInRoot } from "../executor/resolve-in-root.js";
import type { Platform } from "../oci/image-types.js";
import { REF_KINDS } from "../store/ref-store.js";
import { resolveImage } from "../worker/resolve-image.js";
import { unpackImage } from "../worker/unpack-image.js";
import type { Worker } from "../worker/worker.js";
import {
  checkContainerName,
  containerNameInUse,
  containerPaths,
  readContainerRecords,
  writeContainerRecord,
  type ContainerMount,
  type ContainerRecord,
} from "./container-record.js";
import { healthcheckSettings } from "./health-check.js";
import { exposedPortBindings, parsePortBinding } from "./port-bindings.js";
import { parseRestartPolicy } from "./restart-policy.js";
import { writeStateFile } from "./container-state.js";
import { createMountPoints, STANDARD_MOUNT_POINTS, type MountPoint } from "./mount-points.js";
import { createVolume } from "./volumes.js";
import { statIfExists } from "../util/stat-if-exists.js";

const execFileAsync = promisify(execFile);

export interface CreateContainerOptions {
  image: string;
  /** Unique among containers; default a generated `adjective_noun`. */
  name?: string;
  /** Replaces the image's CMD (docker's arguments after the image). */
  command?: string[];
  /** Replaces the image's ENTRYPOINT. */
  entrypoint?: string[];
  /** `KEY=value` over the image's Env; a bare `KEY` takes this process's value, if any. */
  env?: string[];
  /** Files of `KEY=value` lines (docker's --env-file), applied before `env`. */
  envFiles?: string[];
  workdir?: string;
  user?: string;
  /** docker's `-v`: `HOST:CTR[:ro]`, `NAME:CTR[:ro]` or an anonymous `/CTR`. */
  volumes?: string[];
  /** Default `default`: a network namespace of its own with outbound access. */
  network?: "default" | "host" | "none";
  /** docker's `-p [IP:][HOST-PORT:]CONTAINER-PORT[/tcp|udp]`; the default network only. */
  publish?: string[];
  /** docker's `-P`: publish every port the image EXPOSEs on a port the shim picks. */
  publishAll?: boolean;
  /** docker's `--add-host NAME:IP`. */
  addHosts?: string[];
  /** docker's `--dns IP`. */
  dns?: string[];
  /** docker's `--restart no|on-failure[:N]|always|unless-stopped`. */
  restart?: string;
  /** Default: the first 12 characters of the id, as docker. */
  hostname?: string;
  tty?: boolean;
  interactive?: boolean;
  /** Remove the container when its process exits (docker's --rm). */
  autoRemove?: boolean;
  /** Of a multi-platform image, the platform to run (default this host's); another architecture's runs under emulation. */
  platform?: Platform;
}

/**
 * docker's `create`: unpacks the image, puts an init layer with the mount points on it and
 * the container's writable snapshot on that, mounts it, and records the container. A ref
 * record of kind `container` holds the image and both snapshots, so `rmi` and `prune`
 * leave them alone.
 */
export async function createContainer(worker: Worker, options: CreateContainerOptions): Promise<ContainerRecord> {
  const existing = await readContainerRecords(worker.root);
  const name = options.name ?? generateName(new Set(existing.map((record) => record.name)));
  checkContainerName(name);
  if (existing.some((record) => record.name === name)) throw containerNameInUse(name);
  const resolved = await resolveImage(worker.store, options.image, options.platform === undefined ? {} : { platform: options.platform });
  // An image for another architecture runs under emulation: without an emulator, say so now.
  await checkEmulation(resolved.config);
  const config = resolved.config.config ?? {};
  const entrypoint = options.entrypoint ?? config.Entrypoint ?? [];
  const cmd = options.command !== undefined && options.command.length > 0 ? options.command : options.entrypoint !== undefined ? [] : (config.Cmd ?? []);
  const args = [...entrypoint, ...cmd];
  if (args.length === 0) throw new TsbuildError("USAGE", `Cannot run image "${options.image}": it has no CMD or ENTRYPOINT and no command was given`);

  const network = options.network ?? "default";
  const ports = [...(options.publish ?? []).map(parsePortBinding), ...(options.publishAll === true ? exposedPortBindings(config.ExposedPorts) : [])];
  if (ports.length > 0 && network !== "default") {
    throw new TsbuildError("USAGE", `Cannot publish ports with --network=${network}: only the default network has ports of its own`);
  }
  const restartPolicy = parseRestartPolicy(options.restart ?? "no");
  if (restartPolicy.name !== "no" && options.autoRemove === true) throw new TsbuildError("USAGE", "Cannot use --restart with --rm: a removed container cannot restart");
  const extraHosts = (options.addHosts ?? []).map(parseExtraHost);
  for (const server of options.dns ?? []) if (!isIP(server)) throw new TsbuildError("USAGE", `Cannot use --dns "${server}": not an IP address`);
  const healthcheck = healthcheckSettings(config.Healthcheck);

  const id = randomBytes(32).toString("hex");
  const paths = containerPaths(worker.root, id);
  const snapshotKey = `container-${id}`;
  const initKey = `container-${id}-init`;
  const env = mergeEnv(config.Env ?? [], [...(await readEnvFiles(options.envFiles ?? [])), ...(options.env ?? [])]);
  const mounts = await resolveMounts(worker, options.volumes ?? [], Object.keys(config.Volumes ?? {}));

  const snapshotter = await worker.snapshotter();
  const record: ContainerRecord = {
    id,
    name,
    image: options.image,
    imageId: resolved.configDigest,
    manifestDigest: resolved.manifestDigest,
    created: new Date().toISOString(),
    snapshotKey,
    initKey,
    runtimeId: `tsbuild-ctr-${id.slice(0, 32)}`,
    args,
    entrypoint,
    cmd,
    env,
    cwd: posix.resolve("/", options.workdir ?? (config.WorkingDir || "/")),
    user: options.user ?? config.User ?? "",
    hostname: options.hostname ?? id.slice(0, 12),
    network,
    ...(ports.length === 0 ? {} : { ports }),
    ...(extraHosts.length === 0 ? {} : { extraHosts }),
    ...(options.dns === undefined || options.dns.length === 0 ? {} : { dns: [...options.dns] }),
    ...(restartPolicy.name === "no" ? {} : { restartPolicy }),
    ...(healthcheck === undefined ? {} : { healthcheck }),
    mounts,
    tty: options.tty ?? false,
    interactive: options.interactive ?? false,
    autoRemove: options.autoRemove ?? false,
    stopSignal: config.StopSignal ?? "SIGTERM",
  };
  try {
    // The record first, so a create killed at any later point leaves a container that
    // `ps -a` lists and `rm -f` removes; then the ref, so a concurrent rmi or prune spares
    // the image and the snapshots before they are made.
    await worker.store.withLock(async () => {
      // Checked again under the lock: two creates of one name must not both succeed.
      if ((await readContainerRecords(worker.root)).some((other) => other.name === name)) throw containerNameInUse(name);
      await writeContainerRecord(worker.root, record);
      await writeStateFile(containerPaths(worker.root, id).state, { status: "created" });
    });
    await worker.store.refs.put(REF_KINDS.container, id, { blobs: [resolved.summary.digest], snapshots: [initKey, snapshotKey], labels: { "tsbuild.name": name } });
    // By the chosen platform's manifest: for a multi-platform image, the platform resolved above.
    const { top } = await unpackImage(worker, resolved.manifestDigest, { fromContent: true });
    await mkdir(paths.rootfs, { recursive: true, mode: 0o755 });
    await snapshotter.prepare(`${initKey}-active`, top);
    await snapshotter.mount(`${initKey}-active`, paths.rootfs).catch(async (error: unknown) => {
      await snapshotter.remove(`${initKey}-active`).catch(() => undefined);
      throw error;
    });
    try {
      const points: MountPoint[] = [...STANDARD_MOUNT_POINTS];
      for (const mount of mounts) points.push({ path: mount.target, kind: await mountKind(mount) });
      await createMountPoints(paths.rootfs, points);
      for (const mount of mounts) if (mount.anonymous === true) await copyIntoVolume(worker, paths.rootfs, mount);
    } finally {
      await snapshotter.unmount(paths.rootfs);
    }
    await snapshotter.commit(initKey, `${initKey}-active`);
    // Mounted by each start and unmounted by the shim at the end: a container that does not run holds no mount.
    await snapshotter.prepare(snapshotKey, initKey);
    return record;
  } catch (error) {
    await discardContainer(worker, record);
    throw error;
  }
}

/** Removes what a failed create made, best effort. */
async function discardContainer(worker: Worker, record: ContainerRecord): Promise<void> {
  const snapshotter = await worker.snapshotter();
  const paths = containerPaths(worker.root, record.id);
  await snapshotter.unmount(paths.rootfs).catch(() => undefined);
  for (const key of [record.snapshotKey, record.initKey, `${record.initKey}-active`]) await snapshotter.remove(key).catch(() => undefined);
  await worker.store.refs.remove(REF_KINDS.container, record.id).catch(() => undefined);
  await rm(paths.dir, { recursive: true, force: true });
}

/** `--add-host NAME:IP` (docker also takes `NAME=IP`); the IP may be IPv6, so the name ends at the first separator. */
function parseExtraHost(spec: string): { host: string; ip: string } {
  const match = /^([^:=\s]+)[:=](.+)$/.exec(spec);
  if (match === null || !isIP(match[2].replace(/^\[|\]$/g, ""))) {
    throw new TsbuildError("USAGE", `Cannot parse --add-host "${spec}": use NAME:IP`, { hint: "For example --add-host db:10.0.0.5" });
  }
  return { host: match[1], ip: match[2].replace(/^\[|\]$/g, "") };
}

/** docker's env rule: later entries replace earlier ones of the same key; a bare key takes this process's value. */
function mergeEnv(base: string[], overrides: string[]): string[] {
  const entries = new Map<string, string>();
  const key = (entry: string) => (entry.includes("=") ? entry.slice(0, entry.indexOf("=")) : entry);
  for (const entry of base) entries.set(key(entry), entry);
  for (const entry of overrides) {
    if (entry.includes("=")) entries.set(key(entry), entry);
    else if (process.env[entry] !== undefined) entries.set(entry, `${entry}=${process.env[entry]}`);
    else entries.delete(entry);
  }
  return [...entries.values()];
}

async function readEnvFiles(files: string[]): Promise<string[]> {
  const entries: string[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (error) {
      throw new TsbuildError("FILE_NOT_FOUND", `Cannot read env file "${file}": ${(error as Error).message}`, { cause: error });
    }
    for (const line of text.split("\n")) {
      const trimmed = line.replace(/^\s+/, "").replace(/\r$/, "");
      if (trimmed === "" || trimmed.startsWith("#")) continue;
      entries.push(trimmed);
    }
  }
  return entries;
}

/** `-v` specs and the image's VOLUME paths (those no `-v` covers get anonymous volumes). */
async function resolveMounts(worker: Worker, specs: string[], imageVolumes: string[]): Promise<ContainerMount[]> {
  const mounts: ContainerMount[] = [];
  for (const spec of specs) {
    const parts = spec.split(":");
    if (parts.length === 1 && parts[0].startsWith("/")) {
      const volume = await createVolume(worker, undefined, { anonymous: true });
      mounts.push({ type: "volume", source: volume.name, target: posix.resolve(parts[0]), readonly: false, anonymous: true });
      continue;
    }
    if (parts.length < 2 || parts.length > 3 || parts[0] === "" || !parts[1].startsWith("/") || (parts[2] !== undefined && parts[2] !== "ro" && parts[2] !== "rw")) {
      throw new TsbuildError("USAGE", `Cannot parse volume "${spec}": use HOST-PATH:CONTAINER-PATH[:ro], NAME:CONTAINER-PATH[:ro] or /CONTAINER-PATH`);
    }
    const [source, target, mode] = parts;
    const readonly = mode === "ro";
    if (isAbsolute(source)) {
      if ((await statIfExists(source)) === undefined) {
        throw new TsbuildError("FILE_NOT_FOUND", `Cannot bind-mount "${source}" at "${target}": source does not exist`);
      }
      mounts.push({ type: "bind", source, target: posix.resolve(target), readonly });
    } else {
      const volume = await createVolume(worker, source);
      mounts.push({ type: "volume", source: volume.name, target: posix.resolve(target), readonly });
    }
  }
  for (const path of imageVolumes) {
    const target = posix.resolve("/", path);
    if (mounts.some((mount) => mount.target === target)) continue;
    const volume = await createVolume(worker, undefined, { anonymous: true });
    mounts.push({ type: "volume", source: volume.name, target, readonly: false, anonymous: true });
  }
  return mounts;
}

async function mountKind(mount: ContainerMount): Promise<"file" | "directory"> {
  if (mount.type === "volume") return "directory";
  return (await stat(mount.source)).isDirectory() ? "directory" : "file";
}

/** docker fills a new anonymous volume with what the image has at its path. */
async function copyIntoVolume(worker: Worker, rootfs: string, mount: ContainerMount): Promise<void> {
  const from = await resolveInRoot(rootfs, mount.target);
  if (!(await stat(from).then((s) => s.isDirectory(), () => false))) return;
  const volume = containerVolumePath(worker.root, mount.source);
  // cp -a copies symlinks as links: nothing in the image can make it read host files.
  await execFileAsync("cp", ["-a", "--", `${from}/.`, volume]);
}

/** The directory a volume's data lives in. */
export function containerVolumePath(root: string, name: string): string {
  return posix.join(root, "volumes", name, "_data");
}

const ADJECTIVES = ["brave", "calm", "eager", "fancy", "gentle", "happy", "jolly", "keen", "lucid", "merry", "nifty", "proud", "quirky", "sharp", "tender", "vivid", "witty", "zealous"];
const NOUNS = ["babbage", "curie", "darwin", "euler", "fermi", "galois", "hopper", "kepler", "lovelace", "noether", "pascal", "ritchie", "turing", "wozniak"];

function generateName(taken: Set<string>): string {
  for (;;) {
    const pick = (list: string[]) => list[randomBytes(1)[0] % list.length];
    const name = `${pick(ADJECTIVES)}_${pick(NOUNS)}`;
    const candidate = taken.has(name) ? `${name}${randomBytes(1)[0]}` : name;
    if (!taken.has(candidate)) return candidate;
  }
}
