import { copyFile, mkdir, unlink } from "node:fs/promises";
import { basename, join, posix, resolve } from "node:path";
import { pipeline } from "node:stream/promises";
import { c as createTar, x as extractTar } from "tar";
import { TsbuildError } from "../errors.js";
import { resolveInRoot } from "../executor/resolve-in-root.js";
import type { Worker } from "../worker/worker.js";
import { containerPaths, findContainer } from "./container-record.js";
import { isMountPoint } from "./mount-points.js";
import { lstatIfExists, statIfExists } from "../util/stat-if-exists.js";

export interface CopyOptions {
  /** Out: a path in the container; in: a host path. */
  source: string;
  /** Out: a host path; in: a path in the container. */
  destination: string;
}

/**
 * docker's `cp` out of a container: a file or directory of its file system (its layer over
 * the image; not what volumes hold) to a host path. A directory lands inside an existing
 * host directory, or becomes the host path. Paths resolve as in the container, so a
 * symlink of the image never reads a host file.
 */
export async function copyFromContainer(worker: Worker, text: string, options: CopyOptions): Promise<void> {
  const { source, destination } = options;
  const rootfs = await mountedRootfs(worker, text);
  const from = await resolveInRoot(rootfs, source);
  const info = await lstatIfExists(from);
  if (info === undefined) throw new TsbuildError("NOT_FOUND", `Cannot copy "${source}" from container "${text}": no such file or directory`);
  const target = await intoDirectory(resolve(destination), posix.basename(posix.resolve("/", source)) || "root");
  if (info.isDirectory()) {
    await mkdir(target, { recursive: true });
    await pipeline(createTar({ cwd: from, portable: false }, ["."]), extractTar({ cwd: target, preserveOwner: true, preservePaths: true }));
  } else {
    await copyFile(from, target);
  }
}

/**
 * docker's `cp` into a container: into its writable layer, over the mounted rootfs. The
 * destination resolves as in the container; extraction (node-tar) refuses to write through
 * a symlink, and a symlink at a file's destination is replaced, never followed.
 */
export async function copyToContainer(worker: Worker, text: string, options: CopyOptions): Promise<void> {
  const { source, destination } = options;
  const rootfs = await mountedRootfs(worker, text);
  const info = await statIfExists(source);
  if (info === undefined) throw new TsbuildError("FILE_NOT_FOUND", `Cannot copy "${source}" into container "${text}": no such file or directory`);
  const resolved = await resolveInRoot(rootfs, destination);
  const existing = await statIfExists(resolved);
  const target = existing?.isDirectory() === true ? await resolveInRoot(rootfs, posix.join(destination, basename(resolve(source)))) : resolved;
  if (info.isDirectory()) {
    await mkdir(target, { recursive: true });
    // preservePaths keeps absolute link targets as docker does; entries are our own relative
    // ones, and node-tar still refuses to extract through a symlink either way.
    await pipeline(createTar({ cwd: source, portable: false }, ["."]), extractTar({ cwd: target, preserveOwner: true, preservePaths: true }));
    return;
  }
  const parent = await statIfExists(posix.dirname(target));
  if (parent?.isDirectory() !== true) throw new TsbuildError("NOT_FOUND", `Cannot copy into "${destination}" of container "${text}": its directory does not exist`);
  if ((await lstatIfExists(target))?.isSymbolicLink() === true) await unlink(target);
  await copyFile(source, target);
}

/** A host directory takes the copy inside it under `name`; any other path is the copy. */
async function intoDirectory(path: string, name: string): Promise<string> {
  return (await statIfExists(path))?.isDirectory() === true ? join(path, name) : path;
}

async function mountedRootfs(worker: Worker, text: string): Promise<string> {
  const record = await findContainer(worker, text);
  const rootfs = containerPaths(worker.root, record.id).rootfs;
  if (!(await isMountPoint(rootfs))) await (await worker.snapshotter()).mount(record.snapshotKey, rootfs);
  return rootfs;
}
