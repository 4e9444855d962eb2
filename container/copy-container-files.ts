import { copyFile, mkdir, unlink } from "node:fs/promises";
import { basename, join, posix, resolve } from "node:path";
import { PassThrough } from "node:stream";
import { TsbuildError } from "../errors.js";
import { resolveInRoot } from "../executor/resolve-in-root.js";
import { writeLayer } from "../oci/layer-writer.js";
import { extractArchive } from "../snapshotter/extract-archive.js";
import { nativeChanges } from "../snapshotter/layer-changes.js";
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
  await withRootfs(worker, text, (rootfs) => copyOut(rootfs, text, options));
}

async function copyOut(rootfs: string, text: string, options: CopyOptions): Promise<void> {
  const { source, destination } = options;
  const from = await resolveInRoot(rootfs, source);
  const info = await lstatIfExists(from);
  if (info === undefined) throw new TsbuildError("NOT_FOUND", `Cannot copy "${source}" from container "${text}": no such file or directory`);
  const target = await intoDirectory(resolve(destination), posix.basename(posix.resolve("/", source)) || "root");
  if (info.isDirectory()) {
    await mkdir(target, { recursive: true });
    await copyTree(from, target);
  } else {
    await copyFile(from, target);
  }
}

/**
 * docker's `cp` into a container: into its writable layer, over the mounted rootfs. The
 * destination resolves as in the container; the copy is extracted as ADD extracts archives,
 * resolving every path inside the destination, and a symlink at a file's destination is
 * replaced, never followed.
 */
export async function copyToContainer(worker: Worker, text: string, options: CopyOptions): Promise<void> {
  await withRootfs(worker, text, (rootfs) => copyIn(rootfs, text, options));
}

async function copyIn(rootfs: string, text: string, options: CopyOptions): Promise<void> {
  const { source, destination } = options;
  const info = await statIfExists(source);
  if (info === undefined) throw new TsbuildError("FILE_NOT_FOUND", `Cannot copy "${source}" into container "${text}": no such file or directory`);
  const resolved = await resolveInRoot(rootfs, destination);
  const existing = await statIfExists(resolved);
  const target = existing?.isDirectory() === true ? await resolveInRoot(rootfs, posix.join(destination, basename(resolve(source)))) : resolved;
  if (info.isDirectory()) {
    await mkdir(target, { recursive: true });
    await copyTree(source, target);
    return;
  }
  const parent = await statIfExists(posix.dirname(target));
  if (parent?.isDirectory() !== true) throw new TsbuildError("NOT_FOUND", `Cannot copy into "${destination}" of container "${text}": its directory does not exist`);
  if ((await lstatIfExists(target))?.isSymbolicLink() === true) await unlink(target);
  await copyFile(source, target);
}

/**
 * Copies a directory tree with owners, modes, times and links as they are, through the one
 * tar writer and reader: a plain layer of `from` streamed into an extraction at `to`.
 */
async function copyTree(from: string, to: string): Promise<void> {
  const stream = new PassThrough();
  const written = writeLayer(nativeChanges(from, undefined), stream, { compression: "none", sourceDateEpoch: null });
  // A failed extraction must not leave the writer waiting on a full stream.
  const extracted = extractArchive(stream, to).catch((error: unknown) => {
    stream.destroy();
    throw error;
  });
  await Promise.all([written, extracted]);
}

/** A host directory takes the copy inside it under `name`; any other path is the copy. */
async function intoDirectory(path: string, name: string): Promise<string> {
  return (await statIfExists(path))?.isDirectory() === true ? join(path, name) : path;
}

/** Runs `fn` over the container's mounted rootfs; a stopped container's is mounted for it and unmounted after. */
async function withRootfs(worker: Worker, text: string, fn: (rootfs: string) => Promise<void>): Promise<void> {
  const record = await findContainer(worker, text);
  const rootfs = containerPaths(worker.root, record.id).rootfs;
  if (await isMountPoint(rootfs)) return fn(rootfs);
  const snapshotter = await worker.snapshotter();
  await snapshotter.mount(record.snapshotKey, rootfs);
  try {
    await fn(rootfs);
  } finally {
    await snapshotter.unmount(rootfs);
  }
}
