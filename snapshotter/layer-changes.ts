import type { BigIntStats } from "node:fs";
import { lstat, readdir, readlink } from "node:fs/promises";
import { join } from "node:path";
import type { LayerWriteEntry } from "../oci/layer-writer.js";
import { OPAQUE_WHITEOUT, whiteoutName } from "../oci/whiteout.js";
import { LAYER_XATTRS, OVERLAY_OPAQUE_XATTRS, readTreeXattrs, type XattrTable } from "./xattrs.js";

/**
 * The changes of an overlay upper directory as layer entries: it already is a changeset.
 * 0/0 character devices become `.wh.<name>` and directories marked opaque get a
 * `.wh..wh..opq` entry right after their own. Sorted by name, parents first.
 */
export async function* overlayChanges(upperDir: string): AsyncGenerator<LayerWriteEntry> {
  const xattrs = await readTreeXattrs(upperDir, [...LAYER_XATTRS, ...OVERLAY_OPAQUE_XATTRS]);
  yield* walkUpper({ root: upperDir, xattrs }, "");
}

/** A tree being read, with the xattrs of its files (by absolute path). */
interface Tree {
  root: string;
  xattrs: XattrTable;
}

/** One file of a tree. */
interface Node {
  abs: string;
  stat: BigIntStats;
  xattrs: XattrTable;
}

async function* walkUpper(tree: Tree, dir: string): AsyncGenerator<LayerWriteEntry> {
  const names = await sortedNames(join(tree.root, dir));
  const stats = await lstatAll(join(tree.root, dir), names);
  for (const [i, name] of names.entries()) {
    const rel = dir === "" ? name : `${dir}/${name}`;
    const abs = join(tree.root, rel);
    const stat = stats[i];
    if (stat.isCharacterDevice() && stat.rdev === 0n) {
      yield marker(dir === "" ? whiteoutName(name) : `${dir}/${whiteoutName(name)}`, stat);
      continue;
    }
    yield await entryOf(rel, { abs, stat, xattrs: tree.xattrs });
    if (stat.isDirectory()) {
      if (OVERLAY_OPAQUE_XATTRS.some((name) => tree.xattrs.get(abs)?.get(name)?.toString() === "y")) yield marker(`${rel}/${OPAQUE_WHITEOUT}`, stat);
      yield* walkUpper(tree, rel);
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
  const current = { root: currentDir, xattrs: await readTreeXattrs(currentDir, LAYER_XATTRS) };
  if (parentDir === undefined) {
    yield* walkAll(current, "");
    return;
  }
  const parent = { root: parentDir, xattrs: await readTreeXattrs(parentDir, LAYER_XATTRS) };
  yield* compareDirs({ current, parent }, "");
}

async function* compareDirs(trees: { current: Tree; parent: Tree }, dir: string): AsyncGenerator<LayerWriteEntry> {
  const { current, parent } = trees;
  const currentNames = await sortedNames(join(current.root, dir));
  const parentNames = new Set(await sortedNames(join(parent.root, dir)));
  const names = [...new Set([...currentNames, ...parentNames])].sort(compareNames);
  const currentSet = new Set(currentNames);
  for (const name of names) {
    const rel = dir === "" ? name : `${dir}/${name}`;
    const abs = join(current.root, rel);
    if (!currentSet.has(name)) {
      const gone = await lstat(join(parent.root, rel), { bigint: true });
      yield marker(dir === "" ? whiteoutName(name) : `${dir}/${whiteoutName(name)}`, gone);
      continue;
    }
    const now: Node = { abs, stat: await lstat(abs, { bigint: true }), xattrs: current.xattrs };
    if (!parentNames.has(name)) {
      yield await entryOf(rel, now);
      if (now.stat.isDirectory()) yield* walkAll(current, rel);
      continue;
    }
    const beforeAbs = join(parent.root, rel);
    const before: Node = { abs: beforeAbs, stat: await lstat(beforeAbs, { bigint: true }), xattrs: parent.xattrs };
    if (await differs(now, before)) yield await entryOf(rel, now);
    if (now.stat.isDirectory()) {
      if (before.stat.isDirectory()) yield* compareDirs(trees, rel);
      else yield* walkAll(current, rel);
    }
  }
}

async function* walkAll(tree: Tree, dir: string): AsyncGenerator<LayerWriteEntry> {
  const names = await sortedNames(join(tree.root, dir));
  const stats = await lstatAll(join(tree.root, dir), names);
  for (const [i, name] of names.entries()) {
    const rel = dir === "" ? name : `${dir}/${name}`;
    const abs = join(tree.root, rel);
    const stat = stats[i];
    yield await entryOf(rel, { abs, stat, xattrs: tree.xattrs });
    if (stat.isDirectory()) yield* walkAll(tree, rel);
  }
}

async function differs(now: Node, before: Node): Promise<boolean> {
  const [a, b] = [now.stat, before.stat];
  if (a.mode !== b.mode || a.uid !== b.uid || a.gid !== b.gid || a.mtimeNs !== b.mtimeNs) return true;
  if (!a.isDirectory() && a.size !== b.size) return true;
  if ((a.isCharacterDevice() || a.isBlockDevice()) && a.rdev !== b.rdev) return true;
  if (a.isSymbolicLink() && (await readlink(now.abs)) !== (await readlink(before.abs))) return true;
  return !sameXattrs(now.xattrs.get(now.abs), before.xattrs.get(before.abs));
}

function sameXattrs(a: Map<string, Buffer> | undefined, b: Map<string, Buffer> | undefined): boolean {
  const left = a ?? new Map<string, Buffer>();
  const right = b ?? new Map<string, Buffer>();
  if (left.size !== right.size) return false;
  for (const [name, value] of left) if (!right.get(name)?.equals(value)) return false;
  return true;
}

async function entryOf(rel: string, node: Node): Promise<LayerWriteEntry> {
  const { abs, stat } = node;
  const base = {
    path: rel,
    mode: Number(stat.mode & 0o7777n),
    uid: Number(stat.uid),
    gid: Number(stat.gid),
    mtime: Number(stat.mtimeNs / 1_000_000_000n),
  };
  const own = node.xattrs.get(abs);
  const kept = own === undefined ? undefined : new Map([...own].filter(([name]) => LAYER_XATTRS.includes(name)));
  const withXattrs = kept !== undefined && kept.size > 0 ? { xattrs: kept } : {};
  const inode = stat.nlink > 1n ? { inode: `${stat.dev}:${stat.ino}` } : {};
  if (stat.isDirectory()) return { ...base, type: "directory", ...withXattrs };
  if (stat.isSymbolicLink()) return { ...base, type: "symlink", linkpath: await readlink(abs), ...inode };
  if (stat.isFile()) return { ...base, type: "file", size: Number(stat.size), sourcePath: abs, fileId: `${stat.dev}:${stat.ino}`, ...withXattrs, ...inode };
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

/** lstats side by side, in batches: each is a round trip to libuv's thread pool. */
const STAT_BATCH = 64;

async function lstatAll(dir: string, names: readonly string[]): Promise<BigIntStats[]> {
  const stats: BigIntStats[] = [];
  for (let i = 0; i < names.length; i += STAT_BATCH) {
    stats.push(...(await Promise.all(names.slice(i, i + STAT_BATCH).map((name) => lstat(join(dir, name), { bigint: true })))));
  }
  return stats;
}

async function sortedNames(dir: string): Promise<string[]> {
  return (await readdir(dir)).sort(compareNames);
}

/** Byte order of the UTF-8 names, the same on every machine and locale. */
function compareNames(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}
