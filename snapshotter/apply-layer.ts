import { createWriteStream, type Stats } from "node:fs";
import { chmod, lchown, link, lstat, lutimes, mkdir, readdir, readlink, rm, symlink, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { TsbuildError } from "../errors.js";
import type { Digest } from "../oci/digest.js";
import type { LayerCompression } from "../oci/layer-compression.js";
import { LayerReader, type LayerEntry } from "../oci/layer-reader.js";
import { classifyWhiteout, type WhiteoutKind } from "../oci/whiteout.js";
import { crashPoint } from "../util/crash-point.js";
import { runCommand } from "./run-command.js";
import { inUserNamespace } from "../util/id-mapping.js";
import { OVERLAY_OPAQUE_XATTR, writeXattrs } from "./xattrs.js";

export interface ApplyLayerOptions {
  /**
   * "overlay": `target` is a fresh upper directory; deletions become 0/0 character devices
   * and opaque directories get the overlay xattr. "native": `target` is a full copy of the
   * parent tree and deletions remove files from it.
   */
  mode: "overlay" | "native";
  /** overlay: a read-only merged view of the layers below, if there are any. */
  lowerView?: string;
}

export interface ApplyLayerResult {
  diffId: Digest;
  compression: LayerCompression;
  entries: number;
}

/** Files up to this size are written with one call instead of a stream. */
const SMALL_FILE = 1024 * 1024;

/** Most symlinks followed while resolving one path, like the kernel's MAXSYMLINKS. */
const MAX_SYMLINK_HOPS = 40;

interface Found {
  where: "target" | "lower";
  stat: Stats;
}

interface PendingNode {
  type: "char" | "block" | "fifo";
  mode: number;
  major: number;
  minor: number;
  uid: number;
  gid: number;
  mtime: number;
}

/**
 * Applies a layer blob to a directory. Every path is resolved component by component inside
 * the target (and the lower view), never following a symlink out: an absolute symlink or one
 * climbing above the root on the way to an entry is an INVALID_ARCHIVE error, as are hard
 * links to paths that do not exist. Device nodes and fifos are created (docker allows them
 * in layers; a container only reaches them if its device cgroup lets it) with `mknod`, in
 * one batch. The caller removes `target` when this throws.
 */
export async function applyLayer(layer: Readable, target: string, options: ApplyLayerOptions): Promise<ApplyLayerResult> {
  const applier = new LayerApplier(target, { overlay: options.mode === "overlay", lowerView: options.lowerView });
  const reader = new LayerReader(layer);
  let entries = 0;
  for await (const entry of reader.entries()) {
    entries++;
    await applier.apply(entry);
    // One kill point a layer, with part of its tree written and nothing recorded yet.
    if (entries === 2) crashPoint("apply-layer.partial");
  }
  await applier.finish();
  return { diffId: reader.diffId, compression: reader.compression ?? "none", entries };
}

/** How a LayerApplier treats its input: an image layer, or an archive given to ADD. */
export interface LayerApplierOptions {
  /** An overlay upper directory (see ApplyLayerOptions.mode); false for a full tree. */
  overlay: boolean;
  lowerView?: string;
  /**
   * An archive unpacked by ADD, as docker's untar chrooted in `target` does it: whiteout
   * names are plain files, an absolute symlink or a `..` on the way to an entry resolves
   * from `target` as the root instead of being refused, and the root entry's metadata
   * applies to `target`.
   */
  extract?: {
    /** `ADD --chown`: the owner of every entry, instead of the archive's. */
    owner?: { uid: number; gid: number };
  };
}

/** Writes tar entries into a directory, each path resolved inside it. */
export class LayerApplier {
  readonly #target: string;
  readonly #overlay: boolean;
  readonly #lowerView: string | undefined;
  readonly #extract: LayerApplierOptions["extract"];
  /** Paths this layer wrote (native opaque directories keep only these). */
  readonly #written = new Set<string>();
  readonly #opaque = new Set<string>();
  /** Paths this layer deleted (overlay: hidden from the lower view from now on). */
  readonly #deleted = new Set<string>();
  readonly #whiteouts = new Set<string>();
  readonly #nodes = new Map<string, PendingNode>();
  /** Capabilities to set once every owner is final (chown clears them), by path. */
  readonly #xattrs = new Map<string, Array<{ name: string; value: Buffer }>>();
  readonly #dirTimes = new Map<string, number>();
  readonly #lowerStats = new Map<string, Stats | null>();
  /** Directories known to exist in the target, reached without symlinks (saves lstat calls). */
  readonly #knownDirs = new Set<string>();

  constructor(target: string, options: LayerApplierOptions) {
    this.#target = target;
    this.#overlay = options.overlay;
    this.#lowerView = this.#overlay ? options.lowerView : undefined;
    this.#extract = options.extract;
  }

  async apply(entry: LayerEntry): Promise<void> {
    if (entry.path === "") {
      // The root itself ("./"): a layer's belongs to the snapshot; an archive's to the destination.
      if (this.#extract !== undefined && entry.type === "directory") await this.#create("", entry);
      return;
    }
    const named = `entry "${entry.path}"`;
    const parts = entry.path.split("/");
    const name = parts.pop()!;
    const whiteout: WhiteoutKind = this.#extract === undefined ? classifyWhiteout(name) : { kind: "none" };
    if (whiteout.kind === "meta") return;
    if (whiteout.kind === "opaque") return this.#applyOpaque(parts, named);
    if (whiteout.kind === "whiteout") return this.#applyWhiteout(parts, whiteout.name, named);
    if (entry.type === "hardlink" && this.#nodes.size > 0) await this.#flushNodes();
    const parent = await this.#resolveDir(parts, { named, create: true });
    const rel = join2(parent, name);
    await this.#create(rel, entry);
  }

  async finish(): Promise<void> {
    await this.#flushNodes();
    const items = [...this.#xattrs].flatMap(([rel, list]) => list.map((item) => ({ path: this.#abs(rel), ...item })));
    for (const dir of this.#opaque) items.push({ path: this.#abs(dir), name: OVERLAY_OPAQUE_XATTR, value: Buffer.from("y") });
    await writeXattrs(items);
    // Deepest first, so that setting a child's time never changes its parent's afterwards.
    const dirs = [...this.#dirTimes].sort((a, b) => depth(b[0]) - depth(a[0]));
    for (const [rel, mtime] of dirs) await utimes(this.#abs(rel), mtime, mtime);
  }

  #abs(rel: string): string {
    return rel === "" ? this.#target : join(this.#target, rel);
  }

  async #create(rel: string, entry: LayerEntry): Promise<void> {
    const named = `entry "${entry.path}"`;
    const abs = this.#abs(rel);
    const existing = await lstatOrUndefined(abs);
    this.#nodes.delete(rel);
    const replacedWhiteout = this.#whiteouts.delete(rel) || (this.#overlay && this.#deleted.has(rel));
    if (entry.type === "directory") {
      if (existing === undefined || !existing.isDirectory()) {
        if (existing !== undefined) await this.#remove(rel);
        await mkdir(abs, { mode: 0o700 });
      }
      // A directory that replaces a deleted one must not show the old one's contents.
      if (replacedWhiteout) this.#opaque.add(rel);
    } else {
      if (existing !== undefined) await this.#remove(rel);
      switch (entry.type) {
        case "file":
          // "wx": O_CREAT|O_EXCL, which never follows a symlink at the last component.
          if (entry.size <= SMALL_FILE) await writeFile(abs, await collect(entry.body), { flag: "wx", mode: 0o600 });
          else await pipeline(Readable.from(entry.body), createWriteStream(abs, { flags: "wx", mode: 0o600 }));
          break;
        case "symlink":
          await symlink(entry.linkpath, abs);
          break;
        case "hardlink":
          await link(await this.#linkTarget(entry.linkpath, named), abs);
          this.#written.add(rel);
          return; // a hard link shares its target's metadata
        case "char":
        case "block":
        case "fifo":
          // A user namespace (rootless) cannot make device nodes: left out, as containerd's
          // unpacker does there; a container's /dev comes from the runtime anyway.
          if (entry.type !== "fifo" && inUserNamespace()) return;
          this.#nodes.set(rel, {
            type: entry.type,
            mode: entry.mode,
            major: entry.devmajor,
            minor: entry.devminor,
            ...this.#ownerOf(entry),
            mtime: entry.mtime,
          });
          this.#written.add(rel);
          return;
      }
    }
    this.#written.add(rel);
    const owner = this.#ownerOf(entry);
    await lchown(abs, owner.uid, owner.gid);
    // chmod after chown: chown clears the setuid and setgid bits.
    if (entry.type !== "symlink") await chmod(abs, entry.mode);
    if (entry.type !== "symlink") {
      const kept = [...entry.xattrs].filter(([name]) => name === "security.capability").map(([name, value]) => ({ name, value }));
      if (kept.length > 0) this.#xattrs.set(rel, kept);
    }
    if (entry.type === "directory") this.#dirTimes.set(rel, entry.mtime);
    else await lutimes(abs, entry.mtime, entry.mtime);
  }

  #ownerOf(entry: LayerEntry): { uid: number; gid: number } {
    return this.#extract?.owner ?? { uid: entry.uid, gid: entry.gid };
  }

  async #applyOpaque(parts: string[], named: string): Promise<void> {
    const dir = await this.#resolveDir(parts, { named, create: true });
    if (this.#overlay) {
      this.#opaque.add(dir);
      return;
    }
    await this.#pruneUnwritten(dir);
  }

  /** Native opaque directory: keep only what this layer wrote. */
  async #pruneUnwritten(dir: string): Promise<void> {
    for (const child of await readdir(this.#abs(dir))) {
      const rel = join2(dir, child);
      if (!this.#written.has(rel)) await this.#remove(rel);
      else if ((await lstat(this.#abs(rel))).isDirectory()) await this.#pruneUnwritten(rel);
    }
  }

  async #applyWhiteout(parts: string[], name: string, named: string): Promise<void> {
    if (name === "" || name === "." || name === "..") {
      throw new TsbuildError("INVALID_ARCHIVE", `Cannot apply layer: ${named} is a whiteout of "${name}"`);
    }
    // A whiteout under a missing directory deletes nothing.
    const parent = await this.#resolveDir(parts, { named, create: false }).catch((error: unknown) => {
      if (error instanceof MissingPath) return undefined;
      throw error;
    });
    if (parent === undefined) return;
    const rel = join2(parent, name);
    // Whiteouts delete only what lower layers hold, never this layer's own entries.
    if (this.#written.has(rel)) return;
    if (!this.#overlay) {
      await this.#remove(rel);
      this.#deleted.add(rel);
      return;
    }
    const lower = await this.#lookupLower(rel, parent);
    this.#deleted.add(rel);
    if (lower === undefined) return;
    await this.#resolveDir(parts, { named, create: true }); // the whiteout needs its parent in the upper layer
    this.#whiteouts.add(rel);
  }

  /** The absolute path a hard link entry points to, which must exist and not be a directory. */
  async #linkTarget(linkpath: string, named: string): Promise<string> {
    const parts = linkpath.split("/");
    const name = parts.pop()!;
    let parent: string;
    try {
      parent = await this.#resolveDir(parts, { named, create: false });
    } catch (error) {
      if (error instanceof MissingPath) {
        throw new TsbuildError("INVALID_ARCHIVE", `Cannot apply layer: ${named} is a hard link to "${linkpath}", which does not exist`);
      }
      throw error;
    }
    const rel = join2(parent, name);
    const found = await this.#lookup(rel, parent);
    if (found === undefined || found.stat.isDirectory()) {
      throw new TsbuildError(
        "INVALID_ARCHIVE",
        `Cannot apply layer: ${named} is a hard link to "${linkpath}", which ${found === undefined ? "does not exist" : "is a directory"}`,
      );
    }
    if (found.where === "lower") {
      // Link to a file of a lower layer: copy it up first, as overlayfs would.
      await this.#resolveDir(parts, { named, create: true });
      await runCommand("cp", ["-a", "--no-dereference", "--", join(this.#lowerView!, rel), this.#abs(rel)]);
    }
    return this.#abs(rel);
  }

  /**
   * Resolves directory components inside the tree, following symlinks as if the root were
   * `/` but refusing any that leave it. With `create`, missing directories are made (in the
   * upper layer, copying a lower directory's metadata); without, MissingPath is thrown.
   */
  async #resolveDir(parts: string[], options: { named: string; create: boolean }): Promise<string> {
    const { named, create } = options;
    const direct = parts.join("/");
    if (direct === "" || this.#knownDirs.has(direct)) return direct;
    let resolved: string[] = [];
    const queue = [...parts];
    let hops = 0;
    while (queue.length > 0) {
      const part = queue.shift()!;
      if (part === "" || part === ".") continue;
      if (part === "..") {
        if (resolved.length === 0) {
          if (this.#extract !== undefined) continue; // "/.." is "/" in a chroot
          throw outside(named);
        }
        resolved = resolved.slice(0, -1);
        continue;
      }
      const parentRel = resolved.join("/");
      const rel = join2(parentRel, part);
      const found = await this.#lookup(rel, parentRel);
      if (found === undefined) {
        if (!create) throw new MissingPath(rel);
        await mkdir(this.#abs(rel), { mode: 0o755 });
        this.#written.add(rel);
      } else if (found.stat.isDirectory()) {
        if (found.where === "lower" && create) await this.#copyUpDir(rel, found.stat);
      } else if (found.stat.isSymbolicLink()) {
        if (++hops > MAX_SYMLINK_HOPS) {
          throw new TsbuildError("INVALID_ARCHIVE", `Cannot apply layer: ${named} goes through more than ${MAX_SYMLINK_HOPS} symlinks`);
        }
        const linkTarget = await readlink(found.where === "target" ? this.#abs(rel) : join(this.#lowerView!, rel));
        if (linkTarget.startsWith("/") && this.#extract !== undefined) {
          resolved = []; // an absolute link starts again at the root it is extracted in
        } else if (linkTarget.startsWith("/")) {
          throw new TsbuildError(
            "INVALID_ARCHIVE",
            `Cannot apply layer: ${named} would be written through symlink "${rel}", which points outside the layer to "${linkTarget}"`,
          );
        }
        queue.unshift(...linkTarget.split("/"));
        continue;
      } else {
        throw new TsbuildError("INVALID_ARCHIVE", `Cannot apply layer: ${named} needs "${rel}" to be a directory, but it is a file`);
      }
      resolved = [...resolved, part];
    }
    const result = resolved.join("/");
    // With `create` every component now exists in the target; cache it if no symlink was crossed.
    if (create && hops === 0 && result === direct) this.#knownDirs.add(result);
    return result;
  }

  /** Removes a path of the target (recursively) and forgets what was pending below it. */
  async #remove(rel: string): Promise<void> {
    await rm(this.#abs(rel), { recursive: true, force: true });
    const under = (path: string) => path === rel || path.startsWith(`${rel}/`);
    for (const dir of this.#knownDirs) if (under(dir)) this.#knownDirs.delete(dir);
    for (const dir of this.#opaque) if (under(dir)) this.#opaque.delete(dir);
    for (const path of this.#xattrs.keys()) if (under(path)) this.#xattrs.delete(path);
    for (const path of this.#dirTimes.keys()) if (under(path)) this.#dirTimes.delete(path);
    for (const path of this.#nodes.keys()) if (under(path)) this.#nodes.delete(path);
    for (const path of this.#whiteouts) if (under(path)) this.#whiteouts.delete(path);
  }

  async #copyUpDir(rel: string, stat: Stats): Promise<void> {
    if ((await lstatOrUndefined(this.#abs(rel))) !== undefined) return;
    await mkdir(this.#abs(rel));
    await lchown(this.#abs(rel), stat.uid, stat.gid);
    await chmod(this.#abs(rel), stat.mode & 0o7777);
    this.#dirTimes.set(rel, stat.mtimeMs / 1000);
  }

  /** What is at `rel` in the tree as it stands, `parentRel` being a resolved directory. */
  async #lookup(rel: string, parentRel: string): Promise<Found | undefined> {
    const here = await lstatOrUndefined(this.#abs(rel));
    if (here !== undefined) return { where: "target", stat: here };
    if (!this.#overlay) return undefined;
    return this.#lookupLower(rel, parentRel);
  }

  async #lookupLower(rel: string, parentRel: string): Promise<Found | undefined> {
    if (this.#deleted.has(rel) || !(await this.#lowerChildrenVisible(parentRel))) return undefined;
    const stat = await this.#lowerStat(rel);
    return stat === undefined ? undefined : { where: "lower", stat };
  }

  /** Whether the layers below still show through in directory `rel`. */
  async #lowerChildrenVisible(rel: string): Promise<boolean> {
    if (this.#lowerView === undefined || this.#opaque.has(rel)) return false;
    if (rel === "") return true;
    if (this.#deleted.has(rel)) return false;
    const here = await lstatOrUndefined(this.#abs(rel));
    if (here !== undefined && !here.isDirectory()) return false;
    const lower = await this.#lowerStat(rel);
    if (lower === undefined || !lower.isDirectory()) return false;
    return this.#lowerChildrenVisible(parentOf(rel));
  }

  /** lstat in the lower view; only called for paths whose parents are lower directories. */
  async #lowerStat(rel: string): Promise<Stats | undefined> {
    let stat = this.#lowerStats.get(rel);
    if (stat === undefined) {
      stat = (await lstatOrUndefined(join(this.#lowerView!, rel))) ?? null;
      // A single lower layer is read directly, and may hold whiteout devices.
      if (stat !== null && stat.isCharacterDevice() && stat.rdev === 0) stat = null;
      this.#lowerStats.set(rel, stat);
    }
    return stat ?? undefined;
  }

  /** Creates pending device nodes, fifos and whiteouts with one shell running mknod. */
  async #flushNodes(): Promise<void> {
    const lines: string[] = [];
    const nodes = [...this.#nodes];
    for (const [rel, node] of nodes) {
      const kind = node.type === "char" ? "c" : node.type === "block" ? "b" : "p";
      const numbers = kind === "p" ? "" : ` ${node.major} ${node.minor}`;
      lines.push(`mknod -m ${(node.mode & 0o777).toString(8)} ${shellQuote(this.#abs(rel))} ${kind}${numbers}`);
    }
    for (const rel of this.#whiteouts) {
      if ((await lstatOrUndefined(this.#abs(rel))) !== undefined) continue;
      lines.push(`mknod -m 0 ${shellQuote(this.#abs(rel))} c 0 0`);
    }
    this.#nodes.clear();
    this.#whiteouts.clear();
    if (lines.length === 0) return;
    await runCommand("sh", ["-e", "-s"], { input: lines.join("\n") + "\n" });
    for (const [rel, node] of nodes) {
      const abs = this.#abs(rel);
      await lchown(abs, node.uid, node.gid);
      await chmod(abs, node.mode);
      await lutimes(abs, node.mtime, node.mtime);
    }
  }
}

/** Thrown inside the applier for a path that does not exist when it must not be created. */
class MissingPath extends Error {
  constructor(readonly rel: string) {
    super(`"${rel}" does not exist`);
  }
}

function outside(named: string): TsbuildError {
  return new TsbuildError("INVALID_ARCHIVE", `Cannot apply layer: ${named} would be written through a symlink that leads outside the layer root`);
}

async function collect(body: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk);
  return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
}

function join2(parent: string, name: string): string {
  return parent === "" ? name : `${parent}/${name}`;
}

function parentOf(rel: string): string {
  const slash = rel.lastIndexOf("/");
  return slash < 0 ? "" : rel.slice(0, slash);
}

function depth(rel: string): number {
  return rel === "" ? 0 : rel.split("/").length;
}

function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

async function lstatOrUndefined(path: string): Promise<Stats | undefined> {
  try {
    return await lstat(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return undefined;
    throw error;
  }
}
