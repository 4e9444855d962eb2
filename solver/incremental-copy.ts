import type { Stats } from "node:fs";
import { link, lutimes } from "node:fs/promises";
import { join, posix } from "node:path";
import { TsbuildError } from "../errors.js";
import { digestOf, isDigest } from "../oci/digest.js";
import type { Lease, Store } from "../store/index.js";
import { crashPoint } from "../util/crash-point.js";
import { lstatIfExists } from "../util/stat-if-exists.js";
import { IO_PARALLELISM, type SourceEntry } from "./copy-sources.js";
import { mapLimit } from "./map-limit.js";
import type { Worker } from "./types.js";

/** The ref kind of copy templates: what a COPY from a context wrote last time, one record per COPY and context. */
export const COPY_TEMPLATE_REF_KIND = "copy-template";
const SNAPSHOT_LABEL = "tsbuild.snapshot";
const PARENT_LABEL = "tsbuild.parent";

/** What a file is written with: its owner, mode and the source it copies. */
export interface FileMeta {
  owner: { uid: number; gid: number };
  mode: number;
}

/** A template: the committed snapshot of the last run of the same COPY on the same parent. */
interface Template {
  /** Its changes directory (overlay upper): read-only, as every committed snapshot's. */
  dir: string;
  /** Path (relative to the root) → sha256 hex of each regular file that run wrote. */
  files: Map<string, string>;
}

/**
 * Incremental COPY: a COPY from a context whose last run (same instruction, same context,
 * same parent snapshot) is still a committed snapshot writes only what changed; every other
 * file becomes a hard link to the same file of that snapshot. A file is linked only when the
 * linked inode is exactly what a copy would make: same content (by the digests the cache key
 * was made of), size, owner, mode and mtime (to the millisecond, as the copy sets it), so the
 * layer has the same bytes as a full copy. Links are made into the new snapshot's changes
 * directory after it is unmounted (overlayfs must not see its upper directory change under
 * it), and no write ever goes through a link: committed snapshots are never written, a later
 * RUN sees the file through overlayfs (copy-up before any write), and the copy itself
 * replaces (unlinks) a path it rewrites. Each layer holds a linked inode once, so its tar gets
 * no hard-link entry. Snapshotters without a changes directory (native) copy everything.
 */
export class CopyReuse {
  readonly #template: Template | undefined;
  readonly #digests: ReadonlyMap<SourceEntry, string>;
  /** What this run leaves at each path: the next run's template. */
  readonly #files = new Map<string, string>();
  /** Paths to link after the unmount, with the times of directories to set again afterwards. */
  readonly #deferred = new Set<string>();
  readonly #dirTimes = new Map<string, [Date, Date]>();
  /** Directories of the new snapshot's changes directory known to be there (linking needs the parent). */
  readonly #upperDirs = new Map<string, boolean>();
  readonly #changesDir: string;

  private constructor(changesDir: string, template: Template | undefined, digests: ReadonlyMap<SourceEntry, string>) {
    this.#changesDir = changesDir;
    this.#template = template;
    this.#digests = digests;
  }

  /**
   * Reuse for one run of a COPY into active snapshot `active` over `parent`: the template named
   * `id` when it fits (held by the build's lease from here on), else none (everything copied,
   * and this run becomes the next one's template). Undefined where the snapshotter has no
   * changes directories.
   */
  static async open(
    env: { worker: Worker; lease: Lease },
    options: { id: string; active: string; parent: string | undefined; digests: ReadonlyMap<SourceEntry, string> },
  ): Promise<CopyReuse | undefined> {
    const { snapshotter, store } = env.worker;
    if (snapshotter.changesDirectory === undefined) return undefined;
    const changesDir = await snapshotter.changesDirectory(options.active);
    let template: Template | undefined;
    try {
      const record = await store.refs.get(COPY_TEMPLATE_REF_KIND, options.id);
      const snapshot = record?.labels?.[SNAPSHOT_LABEL];
      const blob = record?.blobs[0];
      if (snapshot !== undefined && record?.labels?.[PARENT_LABEL] === (options.parent ?? "") && blob !== undefined && isDigest(blob)) {
        await env.lease.hold({ snapshots: [snapshot] });
        const info = await snapshotter.stat(snapshot);
        if (info.kind === "committed" && info.parent === options.parent) {
          const files = JSON.parse((await store.content.read(blob)).toString("utf8")) as Record<string, string>;
          template = { dir: await snapshotter.changesDirectory(snapshot), files: new Map(Object.entries(files)) };
        }
      }
    } catch {
      // A template pruned, half-written or unreadable only costs a full copy.
      template = undefined;
    }
    return new CopyReuse(changesDir, template, options.digests);
  }

  /** The id of the template of a COPY: its instruction and the context directories it reads (the parent is checked apart). */
  static idOf(definition: string, contexts: readonly string[]): string {
    return digestOf(`copy-template\n${definition}\n${contexts.join("\n")}`).replace("sha256:", "sha256-");
  }

  /**
   * Whether the file `entry` at `rel` (relative to the mounted root, `undefined` when nothing
   * is there now) can be left to a link into the template: it is noted, and linked after the
   * unmount. Called instead of copying; `existing` is what the mounted root has at `rel`.
   */
  async defer(rel: string, entry: SourceEntry, meta: FileMeta, existing: Stats | undefined): Promise<boolean> {
    const digest = this.#digests.get(entry);
    if (digest === undefined || this.#template === undefined || existing !== undefined) return false;
    if (this.#template.files.get(rel) !== digest || !(await this.#inUpper(posix.dirname(rel)))) return false;
    const linked = await lstatIfExists(join(this.#template.dir, rel));
    const fits =
      linked?.isFile() === true &&
      linked.size === entry.stat.size &&
      linked.uid === meta.owner.uid &&
      linked.gid === meta.owner.gid &&
      (linked.mode & 0o7777) === meta.mode &&
      // The copy sets whole milliseconds; both went through the same conversion to nanoseconds.
      Math.abs(linked.mtimeMs - entry.stat.mtime.getTime()) < 0.5;
    if (!fits) return false;
    this.#deferred.add(rel);
    this.#files.set(rel, digest);
    return true;
  }

  /** A file (or link, or other non-directory) was written at `rel`. */
  written(rel: string, entry: SourceEntry): void {
    this.#deferred.delete(rel);
    const digest = entry.stat.isFile() ? this.#digests.get(entry) : undefined;
    if (digest === undefined) this.#files.delete(rel);
    else this.#files.set(rel, digest);
  }

  /** `rel` was removed (a directory: with all below it), or became a directory: nothing noted there stands. */
  removed(rel: string, directory: boolean): void {
    this.#deferred.delete(rel);
    this.#files.delete(rel);
    if (!directory) return;
    const below = rel === "" ? "" : `${rel}/`;
    for (const map of [this.#deferred, this.#files, this.#upperDirs]) {
      for (const path of map.keys()) if (path.startsWith(below)) map.delete(path);
    }
  }

  /** The directory at `rel` was given these times (linking into it afterwards changes its mtime). */
  dirTimes(rel: string, atime: Date, mtime: Date): void {
    this.#dirTimes.set(rel, [atime, mtime]);
  }

  /** After the unmount: the noted files linked into the changes directory, their directories' times set again. */
  async finish(): Promise<void> {
    const template = this.#template;
    if (template === undefined || this.#deferred.size === 0) return;
    const parents = new Set<string>();
    await mapLimit([...this.#deferred], IO_PARALLELISM, async (rel) => {
      await link(join(template.dir, rel), join(this.#changesDir, rel));
      parents.add(posix.dirname(rel));
    });
    crashPoint("copy.linked");
    for (const dir of parents) {
      const times = this.#dirTimes.get(dir === "." ? "" : dir);
      if (times !== undefined) await lutimes(join(this.#changesDir, dir), times[0], times[1]);
    }
  }

  /** Saves this run as the next one's template: `snapshot`, as committed over `parent`. */
  async save(store: Store, id: string, snapshot: string, parent: string | undefined): Promise<void> {
    const files = Object.fromEntries([...this.#files].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    const blob = await store.content.write(Buffer.from(JSON.stringify(files)));
    await store.refs.put(COPY_TEMPLATE_REF_KIND, id, {
      blobs: [blob.digest],
      labels: { [SNAPSHOT_LABEL]: snapshot, [PARENT_LABEL]: parent ?? "" },
      durable: false, // losing it costs one full copy
    });
  }

  async #inUpper(dir: string): Promise<boolean> {
    const rel = dir === "." ? "" : dir;
    let known = this.#upperDirs.get(rel);
    if (known === undefined) {
      known = (await lstatIfExists(join(this.#changesDir, rel)))?.isDirectory() ?? false;
      this.#upperDirs.set(rel, known);
    }
    return known;
  }
}

/** A path under a mounted root as a path relative to it (`""` for the root). */
export function relativeTo(root: string, host: string): string {
  if (host === root) return "";
  if (!host.startsWith(`${root}/`)) throw new TsbuildError("INTERNAL", `Cannot place "${host}": it is not under "${root}"`);
  return host.slice(root.length + 1);
}
