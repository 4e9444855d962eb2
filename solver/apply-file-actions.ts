import { constants } from "node:fs";
import { copyFile, chmod, lchown, lutimes, mkdir, rm, symlink, unlink, writeFile } from "node:fs/promises";
import { dirname, join, posix } from "node:path";
import { TsbuildError } from "../errors.js";
import { resolveInRoot } from "../executor/resolve-in-root.js";
import { resolveRootfsUser } from "../executor/rootfs-user.js";
import type { CopyAction, FileAction, MkdirAction, MkfileAction } from "../frontend/graph.js";
import { isTarArchive } from "../oci/is-tar-archive.js";
import { encodeDockerfileText } from "../parser/dockerfile-bytes.js";
import { extractArchive } from "../snapshotter/extract-archive.js";
import { applyChmod } from "./apply-chmod.js";
import { collectCopySources, IO_PARALLELISM, type SourceEntry, type SourceMatch } from "./copy-sources.js";
import { mapLimit } from "./map-limit.js";
import { relativeTo, type CopyReuse } from "./incremental-copy.js";
import { crashPoint } from "../util/crash-point.js";
import { lstatIfExists } from "../util/stat-if-exists.js";

/** Where a copy action reads: the build context, or a mounted snapshot. */
export type CopySource = { kind: "context"; path: string; ignore: readonly string[] } | { kind: "rootfs"; path: string };

export interface ApplyFileActionsOptions {
  /** By input index; input 0 is the tree being changed and has no entry. */
  sources: ReadonlyArray<CopySource | undefined>;
  /** Matches collected earlier (for the cache key), by action index, reused as they are. */
  collected?: ReadonlyMap<number, SourceMatch[]>;
  signal?: AbortSignal;
  /** Incremental COPY: files left to links into the step's last result (incremental-copy.ts). */
  reuse?: CopyReuse;
}

interface Owner {
  uid: number;
  gid: number;
}

/**
 * Applies a file op's actions (COPY/ADD, WORKDIR's mkdir, heredoc files) to `root`, a
 * mounted snapshot, in order. Every destination path is resolved inside `root` as the
 * container would see it, so a symlink in the image can never send a write to the host.
 */
export async function applyFileActions(root: string, actions: readonly FileAction[], options: ApplyFileActionsOptions): Promise<void> {
  const writer = new TreeWriter(root, options.reuse);
  for (const [index, action] of actions.entries()) {
    if (options.signal?.aborted) throw new TsbuildError("CANCELLED", "The build was cancelled");
    if (action.action === "copy") await copy(writer, action, options.sources[action.source], options.collected?.get(index));
    else if (action.action === "mkdir") await makeDirectory(writer, action);
    else await makeFile(writer, action);
  }
}

async function copy(writer: TreeWriter, action: CopyAction, source: CopySource | undefined, collected: SourceMatch[] | undefined): Promise<void> {
  if (source === undefined) throw new TsbuildError("INTERNAL", `Cannot copy "${action.src}": input ${action.source} has no files`);
  const matches =
    collected ??
    (await collectCopySources(source.path, action, source.kind === "context" ? { kind: "context", ignore: source.ignore } : { kind: "rootfs" }));
  const owner = action.chown === undefined ? undefined : await writer.resolveOwner(action.chown);
  // BuildKit's copier makes missing directories with an octal --chmod's mode, else 0755.
  const dirMode = action.chmod !== undefined && "mode" in action.chmod ? action.chmod.mode : 0o755;
  const dest = posix.normalize(`/${action.dest}`);
  const destIsDir = action.dest.endsWith("/") || matches.length > 1 || (await writer.isDirectory(dest));
  const fromContext = source.kind === "context";
  const metaOf = (entry: SourceEntry) => ({
    owner: owner ?? (fromContext ? { uid: 0, gid: 0 } : { uid: entry.stat.uid, gid: entry.stat.gid }),
    mode: action.chmod === undefined ? entry.stat.mode & 0o7777 : applyChmod(action.chmod, entry.stat.mode, { isDirectory: entry.stat.isDirectory() }),
    fromContext,
  });
  const write = (entry: SourceEntry, path: string) => writer.write(path, entry, metaOf(entry));

  for (const match of matches) {
    const top = match.entries[0];
    if (action.attemptUnpack && top.stat.isFile() && (await isTarArchive(top.hostPath))) {
      // ADD of a local archive: its contents land in the destination directory, owned as
      // the archive says or by --chown (BuildKit applies no --chmod to them).
      await writer.makeParents(dest, owner);
      await unpack(top.hostPath, await resolveInRoot(writer.root, dest), { name: match.name, dest, owner });
      continue;
    }
    const contentsOnly = top.stat.isDirectory() && action.dirContentsOnly;
    const base = contentsOnly ? dest : destIsDir ? posix.join(dest, match.name) : dest;
    // BuildKit's copier gives a copied directory its source's owner and mode only where it
    // creates it: a destination that was there keeps its own (even with --chown), and one
    // made for a "contents only" copy is made like any parent (0755, --chown's owner or
    // root). Either way it takes the source's times.
    const keepTopMetadata = top.stat.isDirectory() && (contentsOnly || (await writer.isDirectory(base)));
    if (action.createDestPath || contentsOnly) await writer.makeParents(contentsOnly ? base : posix.dirname(base), owner, dirMode);
    const pathOf = (entry: SourceEntry) => (entry.rel === "" ? base : posix.join(base, entry.rel));
    // Directories first, parents before children; then everything else side by side; then
    // the directories' metadata, since adding entries to a directory changes its mtime.
    const directories = match.entries.filter((entry) => entry.stat.isDirectory());
    writer.forgetMadeDirectories();
    for (const entry of directories) await writer.placeDirectory(pathOf(entry));
    // An incremental COPY leaves most files to links, decided here in one pass; the rest are written.
    const toWrite = match.entries.filter((entry) => !entry.stat.isDirectory() && !(writer.incremental && writer.deferNow(pathOf(entry), entry, metaOf(entry))));
    await mapLimit(toWrite, IO_PARALLELISM, (entry) => write(entry, pathOf(entry)));
    await mapLimit(directories, IO_PARALLELISM, (entry) =>
      entry.rel === "" && keepTopMetadata ? writer.setTimes(pathOf(entry), entry.stat) : write(entry, pathOf(entry)),
    );
  }
}

async function makeDirectory(writer: TreeWriter, action: MkdirAction): Promise<void> {
  const owner = action.chown === undefined ? undefined : await writer.resolveOwner(action.chown);
  const path = posix.normalize(`/${action.path}`);
  if (action.makeParents) await writer.makeParents(posix.dirname(path), owner);
  const host = await writer.hostPath(path);
  const existing = await lstatIfExists(host);
  if (existing?.isDirectory()) return;
  if (existing !== undefined) throw new TsbuildError("CONFLICT", `Cannot create directory "${path}": a file of that name exists`);
  await mkdir(host, { mode: action.mode });
  await chmod(host, action.mode);
  if (owner !== undefined) await lchown(host, owner.uid, owner.gid);
  if (action.createdTime !== undefined) {
    const time = new Date(action.createdTime);
    await lutimes(host, time, time);
  }
  writer.remember(path, host);
}

async function makeFile(writer: TreeWriter, action: MkfileAction): Promise<void> {
  const path = posix.normalize(`/${action.path}`);
  await writer.makeParents(posix.dirname(path), undefined);
  const host = await writer.hostPath(path);
  await removeExisting(host, false);
  // Heredoc bodies keep the Dockerfile's bytes, valid UTF-8 or not, as BuildKit writes them.
  await writeFile(host, encodeDockerfileText(action.data), { mode: action.mode });
  await chmod(host, action.mode);
}

/** Writes into a root, remembering the directories it resolved so deep trees cost one lstat a level. */
class TreeWriter {
  readonly root: string;
  readonly #dirs = new Map<string, string>();
  /** Directories placeDirectory made empty for the current match: nothing is in the way in them. */
  readonly #made = new Set<string>();
  readonly #reuse: CopyReuse | undefined;

  constructor(root: string, reuse?: CopyReuse) {
    this.root = root;
    this.#reuse = reuse;
  }

  async resolveOwner(spec: string): Promise<Owner> {
    const user = await resolveRootfsUser(this.root, spec);
    return { uid: user.uid, gid: user.gid };
  }

  /** A match's entries have distinct paths, but the next match may write in the same directories. */
  forgetMadeDirectories(): void {
    this.#made.clear();
  }

  remember(path: string, host: string): void {
    this.#dirs.set(path, host);
  }

  /** The host path of container path `path`: its parent resolved inside the root, its last component as is. */
  async hostPath(path: string): Promise<string> {
    if (path === "/") return this.root;
    const parent = posix.dirname(path);
    const parentHost = this.#dirs.get(parent) ?? (await resolveInRoot(this.root, parent));
    return join(parentHost, posix.basename(path));
  }

  async isDirectory(path: string): Promise<boolean> {
    const stat = await lstatIfExists(await resolveInRoot(this.root, path));
    return stat?.isDirectory() ?? false;
  }

  /** mkdir -p inside the root; directories it creates get `owner` (COPY --chown's rule) and `mode`. */
  async makeParents(path: string, owner: Owner | undefined, mode = 0o755): Promise<void> {
    let current = "/";
    for (const part of path.split("/").filter((p) => p !== "")) {
      current = posix.join(current, part);
      if (this.#dirs.has(current)) continue;
      const host = await resolveInRoot(this.root, current);
      const stat = await lstatIfExists(host);
      if (stat === undefined) {
        // A dangling symlink on the way (`symlink -> ../tmp/target` in a scratch image) leads
        // to a path whose parents may be missing too: make them all, as BuildKit's MkdirAll.
        // resolveInRoot followed every link that exists, so what is missing holds none.
        const first = (await mkdir(host, { recursive: true, mode })) ?? host;
        for (let made = host; made.length >= first.length; made = dirname(made)) {
          this.#reuse?.directoryMade(relativeTo(this.root, made));
          if (mode !== 0o755) await chmod(made, mode); // past the umask
          if (owner !== undefined) await lchown(made, owner.uid, owner.gid);
        }
      } else if (!stat.isDirectory()) {
        throw new TsbuildError("CONFLICT", `Cannot copy to "${path}": "${current}" is not a directory`);
      }
      this.#dirs.set(current, host);
    }
  }

  /** Makes sure a directory is at `path` (keeping one that is there), before anything is put in it. */
  async placeDirectory(path: string): Promise<void> {
    const host = await this.hostPath(path);
    // In a directory this match made, nothing is there yet (a match places each path once).
    const existing = this.#made.has(posix.dirname(path)) ? undefined : await lstatIfExists(host);
    if (!existing?.isDirectory()) {
      if (existing !== undefined) await removeExisting(host, false);
      await mkdir(host, { mode: 0o700 });
      this.#made.add(path);
      this.#reuse?.directoryMade(relativeTo(this.root, host));
    }
    this.#dirs.set(path, host);
  }

  /** Gives the directory at `path` (placed before) the times of `stat`, and nothing else. */
  async setTimes(path: string, stat: SourceEntry["stat"]): Promise<void> {
    const host = this.#dirs.get(path) ?? (await this.hostPath(path));
    await lutimes(host, stat.atime, stat.mtime);
    this.#reuse?.dirTimes(relativeTo(this.root, host), stat.atime, stat.mtime);
  }

  /**
   * Leaves the file `entry` at `path` to a link into the incremental COPY's template when that
   * can be told without waiting: its directory was made by this match (nothing is in the way)
   * and the template's file is what a copy would make. False: write it as usual.
   */
  get incremental(): boolean {
    return this.#reuse !== undefined;
  }

  deferNow(path: string, entry: SourceEntry, meta: { owner: Owner; mode: number }): boolean {
    if (this.#reuse === undefined || !entry.stat.isFile()) return false;
    const parent = posix.dirname(path);
    const parentHost = this.#dirs.get(parent);
    if (parentHost === undefined || !this.#made.has(parent)) return false;
    return this.#reuse.deferNow(relativeTo(this.root, join(parentHost, posix.basename(path))), entry, meta);
  }

  /** Writes a file or symlink at `path`; for a directory (placed before), sets its metadata. */
  async write(path: string, entry: SourceEntry, meta: { owner: Owner; mode: number; fromContext: boolean }): Promise<void> {
    const { stat } = entry;
    const host = stat.isDirectory() ? (this.#dirs.get(path) ?? (await this.hostPath(path))) : await this.hostPath(path);
    // In a directory this match made, the path is free: no lstat to find what is in the way.
    const free = this.#made.has(posix.dirname(path));
    const reuse = this.#reuse;
    const rel = reuse === undefined ? "" : relativeTo(this.root, host);
    const replace = async () => {
      if (!free && (await removeExisting(host, true)) === "directory") reuse?.removed(rel, true);
    };
    if (stat.isDirectory()) {
      // Placed by placeDirectory: only its metadata is left.
    } else if (stat.isSymbolicLink()) {
      await replace();
      await symlink(entry.linkTarget!, host);
    } else if (stat.isFile()) {
      if (reuse !== undefined && (await reuse.defer(rel, entry, meta, free ? undefined : await lstatIfExists(host)))) return;
      await replace();
      await copyFile(entry.hostPath, host, constants.COPYFILE_FICLONE);
      crashPoint("copy.file");
    } else if (stat.isSocket() && meta.fromContext) {
      // BuildKit's context transfer (fsutil) clears the socket bit, so a socket of the
      // context arrives as an empty regular file with the socket's permissions.
      await replace();
      await writeFile(host, "", { flag: "wx" });
    } else {
      // Fifos and devices, and sockets of an image, need mknod(2), which Node lacks; they
      // are left out (BuildKit's copier recreates them).
      return;
    }
    await lchown(host, meta.owner.uid, meta.owner.gid);
    // copyFile gives the copy its source's mode; chown clears set-id bits, so those need chmod again.
    const modeKept = stat.isFile() && meta.mode === (stat.mode & 0o7777) && (meta.mode & 0o6000) === 0;
    if (!stat.isSymbolicLink() && !modeKept) await chmod(host, meta.mode);
    await lutimes(host, stat.atime, stat.mtime);
    if (stat.isDirectory()) reuse?.dirTimes(rel, stat.atime, stat.mtime);
    else reuse?.written(rel, entry, meta);
  }
}

/** Extracts an archive for ADD; a broken archive is named with the step's source and destination. */
async function unpack(file: string, target: string, { name, dest, owner }: { name: string; dest: string; owner: Owner | undefined }): Promise<void> {
  try {
    await extractArchive(file, target, { owner });
  } catch (error) {
    if (!(error instanceof TsbuildError) || error.code !== "INVALID_ARCHIVE") throw error;
    const why = error.message.replace(/^Cannot (read|apply) layer: |^Cannot extract archive: /, "");
    throw new TsbuildError("INVALID_ARCHIVE", `Cannot unpack "${name}" into "${dest}": ${why}`, { cause: error, hint: error.hint });
  }
}

/** Makes room for a new entry; a directory in the way goes only when `directories` says so. Says what it removed. */
async function removeExisting(host: string, directories: boolean): Promise<"directory" | "file" | undefined> {
  const existing = await lstatIfExists(host);
  if (existing === undefined) return undefined;
  if (existing.isDirectory()) {
    if (!directories) throw new TsbuildError("CONFLICT", `Cannot replace directory "${host}" with a file`);
    await rm(host, { recursive: true, force: true });
    return "directory";
  }
  await unlink(host);
  return "file";
}
