import { createHash } from "node:crypto";
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, rmdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCommand } from "../../snapshotter/run-command.js";
import { listMountPoints } from "../../snapshotter/mount-table.js";
import type { Snapshotter } from "../../snapshotter/types.js";

/** Helpers shared by the snapshotter tests: temp roots, tree descriptions, mount checks. */

/** A fresh root like `/tmp/tsb-XXXXXX`. */
export async function makeRoot(): Promise<string> {
  return mkdtemp(join(tmpdir(), "tsb-"));
}

/** Unmounts everything still mounted under `root` (deepest first), then deletes it. */
export async function cleanupRoot(root: string): Promise<void> {
  const points = [...(await listMountPoints())].filter((p) => p === root || p.startsWith(`${root}/`));
  // A busy mount (a test that failed half-way) is detached lazily, so the tree can still go.
  for (const point of points.sort((a, b) => b.length - a.length)) await runCommand("umount", [point]).catch(() => runCommand("umount", ["--lazy", point]).catch(() => undefined));
  await rm(root, { recursive: true, force: true });
}

/** Mount points under `root` right now. */
export async function mountsUnder(root: string): Promise<string[]> {
  return [...(await listMountPoints())].filter((p) => p.startsWith(`${root}/`));
}

export async function makeDir(path: string): Promise<string> {
  await mkdir(path, { recursive: true });
  return path;
}

/**
 * A line per path under `dir`: type, mode, owner, size and content hash or link target or
 * device number, the capability xattr, and which paths share an inode. Times are left out
 * unless asked for (directories' are touched by mounting).
 */
export async function describeTree(dir: string, options: { mtimes?: boolean } = {}): Promise<string[]> {
  const caps = new Map<string, string>();
  const { stdout } = await runCommand("getfattr", ["-R", "-P", "-h", "-d", "-m", "^security\\.capability$", "-e", "hex", "--absolute-names", dir], {
    okStatuses: [0, 1],
  });
  let file = "";
  for (const line of stdout.toString("latin1").split("\n")) {
    if (line.startsWith("# file: ")) file = line.slice(8);
    else if (line.startsWith("security.capability=")) caps.set(file, line.slice("security.capability=".length));
  }
  const lines: string[] = [];
  const inodes = new Map<number, string>();
  const visit = async (rel: string): Promise<void> => {
    for (const name of (await readdir(join(dir, rel))).sort()) {
      const path = rel === "" ? name : `${rel}/${name}`;
      const abs = join(dir, path);
      const stat = await lstat(abs);
      let what: string;
      if (stat.isDirectory()) what = "dir";
      else if (stat.isSymbolicLink()) what = `link->${await readlink(abs)}`;
      else if (stat.isFile()) what = `file:${stat.size}:${createHash("sha256").update(await readFile(abs)).digest("hex").slice(0, 12)}`;
      else if (stat.isCharacterDevice()) what = `char:${stat.rdev}`;
      else if (stat.isBlockDevice()) what = `block:${stat.rdev}`;
      else if (stat.isFIFO()) what = "fifo";
      else what = "other";
      let same = "";
      if (!stat.isDirectory() && stat.nlink > 1) {
        const first = inodes.get(stat.ino);
        if (first !== undefined) same = ` same-inode-as:${first}`;
        else inodes.set(stat.ino, path);
      }
      const cap = caps.has(abs) ? ` cap:${caps.get(abs)}` : "";
      const time = options.mtimes ? ` mtime:${Math.floor(stat.mtimeMs / 1000)}` : "";
      lines.push(`${path} ${what} mode:${(stat.mode & 0o7777).toString(8)} owner:${stat.uid}:${stat.gid}${cap}${same}${time}`);
      if (stat.isDirectory()) await visit(path);
    }
  };
  await visit("");
  return lines;
}

/** Mounts snapshot `key` on a fresh directory under the snapshotter's root for `fn`, then unmounts and removes it. */
export async function withMounted<T>(snapshotter: Snapshotter, key: string, fn: (dir: string) => Promise<T>): Promise<T> {
  const target = await mkdtemp(join(snapshotter.root, "mnt-"));
  await snapshotter.mount(key, target);
  try {
    return await fn(target);
  } finally {
    await snapshotter.unmount(target);
    await rmdir(target);
  }
}
