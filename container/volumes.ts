import { randomBytes } from "node:crypto";
import { mkdir, readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { TsbuildError } from "../errors.js";
import { writeFileAtomic } from "../store/atomic-file.js";
import type { Worker } from "../worker/worker.js";
import { readContainerRecords } from "./container-record.js";

/** A volume: a directory outside every container's layer, docker's `local` driver. */
export interface Volume {
  name: string;
  /** The directory containers see. */
  mountpoint: string;
  createdAt: string;
  labels: Record<string, string>;
  /** Made for one container's image VOLUME path, not by name. */
  anonymous: boolean;
}

export interface CreateVolumeOptions {
  labels?: Record<string, string>;
  anonymous?: boolean;
}

const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** docker's `volume create`: an existing volume of that name is returned as it is. */
export async function createVolume(worker: Worker, name?: string, options: CreateVolumeOptions = {}): Promise<Volume> {
  const volumeName = name ?? randomBytes(32).toString("hex");
  if (!NAME_PATTERN.test(volumeName)) {
    throw new TsbuildError("USAGE", `Cannot create volume "${volumeName}": use letters, digits and "_.-", starting with a letter or digit`);
  }
  const existing = await readVolume(worker.root, volumeName);
  if (existing !== undefined) return existing;
  const dir = join(worker.root, "volumes", volumeName);
  const volume: Volume = {
    name: volumeName,
    mountpoint: join(dir, "_data"),
    createdAt: new Date().toISOString(),
    labels: options.labels ?? {},
    anonymous: options.anonymous ?? name === undefined,
  };
  await mkdir(volume.mountpoint, { recursive: true, mode: 0o755 });
  await writeFileAtomic(join(dir, "volume.json"), `${JSON.stringify(volume, null, 2)}\n`);
  return volume;
}

export async function listVolumes(worker: Worker): Promise<Volume[]> {
  const names = await readdir(join(worker.root, "volumes")).catch(() => [] as string[]);
  const volumes: Volume[] = [];
  for (const name of names.sort()) {
    const volume = await readVolume(worker.root, name);
    if (volume !== undefined) volumes.push(volume);
  }
  return volumes;
}

export async function inspectVolume(worker: Worker, name: string): Promise<Volume> {
  const volume = await readVolume(worker.root, name);
  if (volume === undefined) throw new TsbuildError("NOT_FOUND", `No such volume "${name}"`, { hint: 'List volumes with "tsbuild volume ls"' });
  return volume;
}

/** Removes a volume and its data; IN_USE while a container (running or not) mounts it, unless forced. */
export async function removeVolume(worker: Worker, name: string, options: { force?: boolean } = {}): Promise<void> {
  const volume = await inspectVolume(worker, name);
  const users = await volumeUsers(worker);
  const user = users.get(volume.name)?.[0];
  if (user !== undefined && options.force !== true) {
    throw new TsbuildError("IN_USE", `Cannot remove volume "${name}": container "${user}" uses it`, { hint: "Remove the container first" });
  }
  await rm(join(worker.root, "volumes", volume.name), { recursive: true, force: true });
}

/** docker's `volume prune`: anonymous volumes no container uses (every unused one with `all`). */
export async function pruneVolumes(worker: Worker, options: { all?: boolean } = {}): Promise<string[]> {
  const users = await volumeUsers(worker);
  const removed: string[] = [];
  for (const volume of await listVolumes(worker)) {
    if (users.has(volume.name) || (!volume.anonymous && options.all !== true)) continue;
    await rm(join(worker.root, "volumes", volume.name), { recursive: true, force: true });
    removed.push(volume.name);
  }
  return removed;
}

/** Container names by the volumes they mount. */
export async function volumeUsers(worker: Worker): Promise<Map<string, string[]>> {
  const users = new Map<string, string[]>();
  for (const record of await readContainerRecords(worker.root)) {
    for (const mount of record.mounts) {
      if (mount.type === "volume") users.set(mount.source, [...(users.get(mount.source) ?? []), record.name]);
    }
  }
  return users;
}

async function readVolume(root: string, name: string): Promise<Volume | undefined> {
  if (!NAME_PATTERN.test(name)) return undefined;
  try {
    return JSON.parse(await readFile(join(root, "volumes", name, "volume.json"), "utf8")) as Volume;
  } catch {
    return undefined;
  }
}
