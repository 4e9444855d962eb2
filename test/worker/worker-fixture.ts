import { execFileSync } from "node:child_process";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { openWorker, type Worker } from "../../worker/worker.js";
import { importRootfs } from "../../worker/import-rootfs.js";
import { makeBusyboxRootfs } from "../helpers/busybox-rootfs.js";
import { unpackImage } from "../../worker/unpack-image.js";
import { cleanupRoot, describeTree, makeRoot } from "../snapshotter/tree-fixtures.js";

/** Helpers shared by the worker tests: temp roots with a worker, busybox images, shell steps. */

/** Runs `fn` with a fresh temp directory holding a worker root at `<dir>/root`; unmounts and removes it afterwards. */
export async function withWorker<T>(fn: (worker: Worker, dir: string) => Promise<T>): Promise<T> {
  const dir = await makeRoot();
  try {
    const worker = await openWorker({ root: join(dir, "root"), snapshotter: "overlayfs" });
    return await fn(worker, dir);
  } finally {
    await cleanupRoot(dir);
  }
}

/** A busybox rootfs under `<dir>/rootfs` packed as `<dir>/rootfs.tar` (numeric owners). */
export async function busyboxTar(dir: string): Promise<string> {
  const rootfs = join(dir, "rootfs");
  await mkdir(rootfs, { recursive: true });
  await makeBusyboxRootfs(rootfs);
  const tar = join(dir, "rootfs.tar");
  execFileSync("tar", ["--numeric-owner", "-C", rootfs, "-cf", tar, "."]);
  return tar;
}

/** Imports a busybox rootfs as `name`. */
export async function importBusybox(worker: Worker, dir: string, name: string): Promise<Awaited<ReturnType<typeof importRootfs>>> {
  return importRootfs(worker, await busyboxTar(dir), { name });
}

/**
 * Runs a shell script with the rootfs' own /bin/sh chrooted into `rootfs`, from its `/`, so
 * that absolute symlinks of the image (`/usr/bin/env -> /bin/busybox`) resolve inside it and
 * never reach the host's files. Throws with its stderr when it fails.
 */
export function shIn(rootfs: string, script: string): string {
  return execFileSync("chroot", [rootfs, "/bin/sh", "-ec", `cd /\n${script}`], { encoding: "utf8" });
}

/** The tree of image `name` as the worker unpacks it, through a read-only view. */
export async function unpackedTree(worker: Worker, dir: string, name: string): Promise<string[]> {
  const snapshotter = await worker.snapshotter();
  const { top } = await unpackImage(worker, name);
  const key = `view-${Math.random().toString(16).slice(2)}`;
  await snapshotter.view(key, top!);
  const target = join(dir, key);
  await mkdir(target);
  await snapshotter.mount(key, target);
  try {
    return await describeTree(target);
  } finally {
    await snapshotter.unmount(target);
    await snapshotter.remove(key);
  }
}
