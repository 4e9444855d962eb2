import type { BigIntStats } from "node:fs";
import { lstat, readdir, readlink } from "node:fs/promises";
import { join } from "node:path";
import type { LayerWriteEntry } from "../oci/layer-writer.js";
import { OPAQUE_WHITEOUT, whiteoutName } from "../oci/whiteout.js";
import { LAYER_XATTRS, OVERLAY_OPAQUE_XATTR, readTreeXattrs, type XattrTable } from "./xattrs.js";

/**
 * The changes of an overlay upper directory as layer entries: it already is a changeset.
 * 0/0 character devices become `.wh.<name>` and directories marked opaque get a
 * `.wh..wh..opq` entry right after their own. Sorted by name, parents first.
 */
export async function* overlayChanges(upperDir: string): AsyncGenerator<LayerWriteEntry> {
  const xattrs = await readTreeXattrs(upperDir, [...LAYER_XATTRS, OVERLAY_OPAQUE_XATTR]);
  yield* walkUpper(upperDir, "", xattrs);
}

async function* walkUpper(root: string, dir: string, xattrs: XattrTable): AsyncGenerator<LayerWriteEntry> {
  for (const name of await sortedNames(join(root, dir))) {
    const rel = dir === "" ? name : `${dir}/${name}`;
    const abs = join(root, rel);
    const stat = await lstat(abs, { bigint: true });
    if (stat.isCharacterDevice() && stat.rdev === 0n) {
      yield marker(dir === "" ? whiteoutName(name) : `${dir}/${whiteoutName(name)}`, stat);
      continue;
    }
    yield await entryOf(rel, abs, stat, xattrs);
    if (stat.isDirectory()) {
      if (xattrs.get(abs)?.get(OVERLAY_OPAQUE_XATTR)?.toString() === "y") yield marker(`${rel}/${OPAQUE_WHITEOUT}`, stat);
      yield* walkUpper(root, rel, xattrs);
    }
  }
}

/**
 * The changes between a full tree and its parent's full tree (native snapshots). A path
 * counts as changed when its type, mode, owner, size, mtime (to the nanosecond), link target,
 * device number or capability differ, like docker's naive differ: contents of files with
 * equal size and mtime are not compared. Deleted paths become whiteouts.
 */
export async function* nativeChanges(currentDir: string, parentDir: string | undefined): AsyncGenerator<LayerWriteEntry> {
  const currentXattrs = await readTreeXattrs(currentDir, LAYER_XATTRS);
  if (parentDir === undefined) {
    yield* walkAll(currentDir, "", currentXattrs);
    return;
  }
  const parentXattrs = await readTreeXattrs(parentDir, LAYER_XATTRS);
  yield* compareDirs(currentDir, parentDir, "", currentXattrs, parentXattrs);
}

async function* compareDirs(
  current: string,
  parent: string,
  dir: string,
  currentXattrs: XattrTable,
  parentXattrs: XattrTable,
): AsyncGenerator<LayerWriteEntry> {
  const currentNames = await sortedNames(join(current, dir));
  const parentNames = new Set(await sortedNames(join(parent, dir)));
  const names = [...new Set([...currentNames, ...parentNames])].sort(compareNames);
  const currentSet = new Set(currentNames);
  for (const name of names) {
    const rel = dir === "" ? name : `${dir}/${name}`;
    const abs = join(current, rel);
    if (!currentSet.has(name)) {
      const gone = await lstat(join(parent, rel), { bigint: true });
      yield marker(dir === "" ? whiteoutName(name) : `${dir}/${whiteoutName(name)}`, gone);
      continue;
    }
    const now = await lstat(abs, { bigint: true });
    if (!parentNames.has(name)) {
      yield await entryOf(rel, abs, now, currentXattrs);
      if (now.isDirectory()) yield* walkAll(current, rel, currentXattrs);
      continue;
    }
    const before = await lstat(join(parent, rel), { bigint: true });
    const changed = await differs(abs, now, currentXattrs, join(parent, rel), before, parentXattrs);
    if (changed) yield await entryOf(rel, abs, now, currentXattrs);
    if (now.isDirectory()) {
      if (before.isDirectory()) yield* compareDirs(current, parent, rel, currentXattrs, parentXattrs);
      else yield* walkAll(current, rel, currentXattrs);
    }
  }
}

async function* walkAll(root: string, dir: string, xattrs: XattrTable): AsyncGenerator<LayerWriteEntry> {
  for (const name of await sortedNames(join(root, dir))) {
    const rel = dir === "" ? name : `${dir}/${name}`;
    const abs = join(root, rel);
    const stat = await lstat(abs, { bigint: true });
    yield await entryOf(rel, abs, stat, xattrs);
    if (stat.isDirectory()) yield* walkAll(root, rel, xattrs);
  }
}

async function differs(
  nowPath: string,
  now: BigIntStats,
  nowXattrs: XattrTable,
  beforePath: string,
  before: BigIntStats,
  beforeXattrs: XattrTable,
): Promise<boolean> {
  if ((now.mode & 0o170000n) !== (before.mode & 0o170000n)) return true;
  if (now.mode !== before.mode || now.uid !== before.uid || now.gid !== before.gid) return true;
  if (!now.isDirectory() && (now.size !== before.size || now.mtimeNs !== before.mtimeNs)) return true;
  if (now.isDirectory() && now.mtimeNs !== before.mtimeNs) return true;
  if ((now.isCharacterDevice() || now.isBlockDevice()) && now.rdev !== before.rdev) return true;
  if (now.isSymbolicLink() && (await readlink(nowPath)) !== (await readlink(beforePath))) return true;
  return !sameXattrs(nowXattrs.get(nowPath), beforeXattrs.get(beforePath));
}

function sameXattrs(a: Map<string, Buffer> | undefined, b: Map<string, Buffer> | undefined): boolean {
  const left = a ?? new Map<string, Buffer>();
  const right = b ?? new Map<string, Buffer>();
  if (left.size !== right.size) return false;
  for (const [name, value] of left) if (!right.get(name)?.equals(value)) return false;
  return true;
}

async function entryOf(rel: string, abs: string, stat: BigIntStats, xattrs: XattrTable): Promise<LayerWriteEntry> {
  const base = {
    path: rel,
    mode: Number(stat.mode & 0o7777n),
    uid: Number(stat.uid),
    gid: Number(stat.gid),
    mtime: Number(stat.mtimeNs / 1_000_000_000n),
  };
  const own = xattrs.get(abs);
  const kept = own === undefined ? undefined : new Map([...own].filter(([name]) => LAYER_XATTRS.includes(name)));
  const withXattrs = kept !== undefined && kept.size > 0 ? { xattrs: kept } : {};
  const inode = stat.nlink > 1n ? { inode: `${stat.dev}:${stat.ino}` } : {};
  if (stat.isDirectory()) return { ...base, type: "directory", ...withXattrs };
  if (stat.isSymbolicLink()) return { ...base, type: "symlink", linkpath: await readlink(abs), ...inode };
  if (stat.isFile()) return { ...base, type: "file", size: Number(stat.size), sourcePath: abs, ...withXattrs, ...inode };
  if (stat.isFIFO()) return { ...base, type: "fifo", ...inode };
  const rdev = Number(stat.rdev);
  // Linux dev_t: major in bits 8-19 (and 32+), minor in bits 0-7 and 20-31.
  const devmajor = ((rdev >> 8) & 0xfff) | (Math.floor(rdev / 2 ** 32) & ~0xfff);
  const devminor = (rdev & 0xff) | ((rdev >> 12) & 0xfff00);
  return { ...base, type: stat.isCharacterDevice() ? "char" : "block", devmajor, devminor, ...inode };
}

/** A whiteout or opaque marker: an empty regular file owned like the thing it stands for. */
function marker(path: string, stat: BigIntStats): LayerWriteEntry {
  return { path, type: "file", mode: 0, uid: Number(stat.uid), gid: Number(stat.gid), mtime: Number(stat.mtimeNs / 1_000_000_000n), size: 0 };
}

async function sortedNames(dir: string): Promise<string[]> {
  return (await readdir(dir)).sort(compareNames);
}

/** Byte order of the UTF-8 names, the same on every machine and locale. */
function compareNames(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}
