import { linkSync, type Stats } from "node:fs";
import { lutimes } from "node:fs/promises";
import { join } from "node:path";
import { TsbuildError } from "../errors.js";
import { digestOf, isDigest, type Digest } from "../oci/digest.js";
import type { LayerEntryIndex, LayerReuse, LayerWriteResult } from "../oci/layer-writer.js";
import { storeSnapshotLayer } from "../worker/store-snapshot-layer.js";
import type { Lease, Store } from "../store/index.js";
import { crashPoint } from "../util/crash-point.js";
import { lstatIfExists } from "../util/stat-if-exists.js";
import type { SourceEntry } from "./copy-sources.js";
import { decodePathRecords, encodePathRecords } from "./path-records.js";
import type { Worker } from "./types.js";

/** The ref kind of copy templates: what a COPY from a context wrote last time, one record per COPY and context. */
export const COPY_TEMPLATE_REF_KIND = "copy-template";
const SNAPSHOT_LABEL = "tsbuild.snapshot";
const PARENT_LABEL = "tsbuild.parent";
/** The uncompressed layer of the record's snapshot, whose entry index is the record's second blob. */
const LAYER_LABEL = "tsbuild.layer";
/** The first line of a template's file list (path-records.ts): a path a line, with its facts (`factsOf`). */
const TEMPLATE_HEADER = "tsbuild copy template v2";

/** A template's layer: its tar in the store and the index of its files' entries. */
interface TemplateLayer {
  layer: Digest;
  index: Digest;
}

/** By store: snapshots an incremental COPY of this process committed and that are not diffed yet, with their template id and its layer. */
const undiffed = new WeakMap<Store, Map<string, { id: string; templateLayer: TemplateLayer | undefined }>>();

/** What a file is written with: its owner, mode and the source it copies. */
export interface FileMeta {
  owner: { uid: number; gid: number };
  mode: number;
}

/** A template: the committed snapshot of the last run of the same COPY on the same parent. */
interface Template {
  /** Its changes directory (overlay upper): read-only, as every committed snapshot's. */
  dir: string;
  /** Path (relative to the root) → the facts (`factsOf`) of each regular file that run left. */
  files: Map<string, string>;
}

/**
 * Incremental COPY: a COPY from a context whose last run (same instruction, same context,
 * same parent snapshot) is still a committed snapshot writes only what changed; every other
 * file becomes a hard link to the same file of that snapshot. A file is linked only when the
 * linked inode is exactly what a copy would make: same content (by the digests the cache key
 * was made of), size, owner, mode and mtime (to the millisecond, as the copy sets it), as
 * the template run noted them, so the layer has the same bytes as a full copy. Links are made into the new snapshot's changes
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
  /** Paths to link after the unmount, and the times of directories to set again afterwards. */
  readonly #deferred = new Set<string>();
  readonly #dirTimes = new Map<string, [Date, Date]>();
  /**
   * Whether each directory is in the new snapshot's changes directory (linking needs the
   * parent), as found or as being looked up: the copy's files ask side by side, one lstat serves them all.
   */
  readonly #upperDirs = new Map<string, boolean | Promise<boolean>>();
  readonly #changesDir: string;
  readonly #templateLayer: TemplateLayer | undefined;

  private constructor(changesDir: string, template: (Template & { layer?: TemplateLayer }) | undefined, digests: ReadonlyMap<SourceEntry, string>) {
    this.#changesDir = changesDir;
    this.#template = template;
    this.#templateLayer = template?.layer;
    this.#digests = digests;
  }

  /**
   * Reuse for one run of a COPY into active snapshot `active` over `parent`: the template
   * named `id` when it fits and the cache may be used (held by the build's lease from here
   * on), else none (everything copied; this run becomes the next one's template). Undefined
   * where the snapshotter has no changes directories.
   */
  static async open(
    env: { worker: Worker; lease: Lease },
    options: { id: string; active: string; parent: string | undefined; digests: ReadonlyMap<SourceEntry, string>; ignoreCache: boolean },
  ): Promise<CopyReuse | undefined> {
    const { snapshotter, store } = env.worker;
    if (snapshotter.changesDirectory === undefined) return undefined;
    const changesDir = await snapshotter.changesDirectory(options.active);
    let template: (Template & { layer?: TemplateLayer }) | undefined;
    // --no-cache copies everything, as from scratch; the run is still the next one's template.
    if (options.ignoreCache) return new CopyReuse(changesDir, undefined, options.digests);
    try {
      const record = await store.refs.get(COPY_TEMPLATE_REF_KIND, options.id);
      const snapshot = record?.labels?.[SNAPSHOT_LABEL];
      const blob = record?.blobs[0];
      if (snapshot !== undefined && record?.labels?.[PARENT_LABEL] === (options.parent ?? "") && blob !== undefined && isDigest(blob)) {
        await env.lease.hold({ snapshots: [snapshot] });
        const info = await snapshotter.stat(snapshot);
        if (info.kind === "committed" && info.parent === options.parent) {
          const files = decodePathRecords(TEMPLATE_HEADER, await store.content.read(blob));
          // A record of an earlier format is no template: everything is copied once.
          if (files === undefined) return new CopyReuse(changesDir, undefined, options.digests);
          template = { dir: await snapshotter.changesDirectory(snapshot), files };
          const [layer, index] = [record?.labels?.[LAYER_LABEL], record?.blobs[1]];
          if (layer !== undefined && isDigest(layer) && index !== undefined && isDigest(index)) {
            await env.lease.hold({ blobs: [layer, index] });
            template.layer = { layer, index };
          }
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
    const facts = existing === undefined ? this.#unchanged(rel, entry, meta) : undefined;
    if (facts === undefined || !(await this.#inUpper(parentOf(rel)))) return false;
    this.#deferred.add(rel);
    this.#files.set(rel, facts);
    return true;
  }

  /**
   * `defer` for a path known to be free (in a directory the copy made), answered without
   * waiting: false when it cannot tell yet (the caller then copies or defers as usual).
   */
  deferNow(rel: string, entry: SourceEntry, meta: FileMeta): boolean {
    const facts = this.#unchanged(rel, entry, meta);
    if (facts === undefined || this.#upperDirs.get(parentOf(rel)) !== true) return false;
    this.#deferred.add(rel);
    this.#files.set(rel, facts);
    return true;
  }

  /** The facts of what a copy of `entry` makes at `rel`, when the template's file there has the same. */
  #unchanged(rel: string, entry: SourceEntry, meta: FileMeta): string | undefined {
    const facts = this.#template === undefined ? undefined : this.#factsOf(entry, meta);
    return facts !== undefined && this.#template?.files.get(rel) === facts ? facts : undefined;
  }

  /** A file (or link, or other non-directory) was written at `rel`. */
  written(rel: string, entry: SourceEntry, meta: FileMeta): void {
    this.#deferred.delete(rel);
    const facts = entry.stat.isFile() ? this.#factsOf(entry, meta) : undefined;
    if (facts === undefined) this.#files.delete(rel);
    else this.#files.set(rel, facts);
  }

  /**
   * What a copy of `entry` makes, as one string: content digest, size, mode, owner and mtime
   * (the copy sets whole milliseconds). A committed snapshot's files never change, so a file
   * the template run left with these facts still has them.
   */
  #factsOf(entry: SourceEntry, meta: FileMeta): string | undefined {
    const digest = this.#digests.get(entry);
    if (digest === undefined) return undefined;
    return `${digest} ${entry.stat.size} ${meta.mode.toString(8)} ${meta.owner.uid}:${meta.owner.gid} ${entry.stat.mtime.getTime()}`;
  }

  /**
   * A directory was made at `rel` through the mounted root, in place of what was there: it is
   * in the changes directory (overlayfs makes every new entry there), no lstat needed.
   */
  directoryMade(rel: string): void {
    this.removed(rel, false);
    this.#upperDirs.set(rel, true);
  }

  /** `rel` was removed (a directory: with all below it), or became a directory: nothing noted there stands. */
  removed(rel: string, directory: boolean): void {
    this.#deferred.delete(rel);
    this.#files.delete(rel);
    if (!directory) return;
    this.#upperDirs.delete(rel);
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
    // One synchronous call a link: the kernel's work is the same, and a promise and a
    // thread-pool round trip per link cost more than it (20,000 links: ~80 ms of CPU here,
    // ~200 ms through the pool). Paths noted are relative and normal: joined as they are.
    for (const rel of this.#deferred) {
      linkSync(`${template.dir}/${rel}`, `${this.#changesDir}/${rel}`);
      parents.add(parentOf(rel));
    }
    crashPoint("copy.linked");
    for (const dir of parents) {
      const times = this.#dirTimes.get(dir);
      if (times !== undefined) await lutimes(join(this.#changesDir, dir), times[0], times[1]);
    }
  }

  /** Saves this run as the next one's template: `snapshot`, as committed over `parent`. */
  async save(store: Store, id: string, snapshot: string, parent: string | undefined): Promise<void> {
    const blob = await store.content.write(encodePathRecords(TEMPLATE_HEADER, this.#files));
    await store.refs.put(COPY_TEMPLATE_REF_KIND, id, {
      blobs: [blob.digest],
      labels: { [SNAPSHOT_LABEL]: snapshot, [PARENT_LABEL]: parent ?? "" },
      durable: false, // losing it costs one full copy
    });
    if (!undiffed.has(store)) undiffed.set(store, new Map());
    undiffed.get(store)!.set(snapshot, { id, templateLayer: this.#templateLayer });
  }

  #inUpper(rel: string): boolean | Promise<boolean> {
    let known = this.#upperDirs.get(rel);
    if (known === undefined) {
      known = lstatIfExists(join(this.#changesDir, rel)).then((stat) => stat?.isDirectory() ?? false);
      this.#upperDirs.set(rel, known);
    }
    return known;
  }
}

/**
 * The layer of `snapshot` when an incremental COPY of this process made it (undefined
 * otherwise): its files linked from the template are the same inodes as in the template's
 * layer, so their entries are copied from that layer's tar (ranges of one file, not 20,000
 * opens and reads); the rest is read as usual. Its own entry index then goes with the
 * template record, for the next run. Same bytes as a full diff (oci/layer-writer.ts checks
 * inode and header of every entry it takes).
 */
export async function diffCopyLayer(
  worker: Worker,
  snapshot: string,
  { epoch, signal, onProgress }: { epoch?: number; signal?: AbortSignal; onProgress?: (tarBytes: number) => void },
): Promise<LayerWriteResult | undefined> {
  const { store, snapshotter } = worker;
  const pending = undiffed.get(store)?.get(snapshot);
  if (pending === undefined) return undefined;
  undiffed.get(store)!.delete(snapshot);
  let reuse: LayerReuse | undefined;
  if (pending.templateLayer !== undefined) {
    try {
      const { layer, index } = pending.templateLayer;
      const entries = JSON.parse((await store.content.read(index)).toString("utf8")) as LayerEntryIndex[];
      if ((await store.content.stat(layer)) !== undefined) reuse = { source: store.content.path(layer), entries: new Map(entries.map((entry) => [entry.path, entry])) };
    } catch {
      // An index or layer gone or unreadable: the files are read instead.
      reuse = undefined;
    }
  }
  const options = { sourceDateEpoch: epoch ?? null, index: true, ...(signal === undefined ? {} : { signal }), ...(onProgress === undefined ? {} : { onProgress }) };
  let written: LayerWriteResult;
  try {
    written = await storeSnapshotLayer(store, snapshotter, snapshot, reuse === undefined ? options : { ...options, reuse });
  } catch (error) {
    if (reuse === undefined || signal?.aborted) throw error;
    // The template's layer went away while being read (a prune): the files are all there.
    written = await storeSnapshotLayer(store, snapshotter, snapshot, options);
  }
  try {
    const record = await store.refs.get(COPY_TEMPLATE_REF_KIND, pending.id);
    const manifest = record?.blobs[0];
    if (record?.labels?.[SNAPSHOT_LABEL] === snapshot && manifest !== undefined && written.index !== undefined && written.digest === written.diffId) {
      const index = await store.content.write(Buffer.from(JSON.stringify(written.index)));
      await store.refs.put(COPY_TEMPLATE_REF_KIND, pending.id, { blobs: [manifest, index.digest], labels: { ...record.labels, [LAYER_LABEL]: written.diffId }, durable: false });
    }
  } catch {
    // Without its index the next run reads its files again, nothing worse.
  }
  return written;
}

/** The directory of a relative path (`""` for the root). */
function parentOf(rel: string): string {
  const slash = rel.lastIndexOf("/");
  return slash === -1 ? "" : rel.slice(0, slash);
}

/** A path under a mounted root as a path relative to it (`""` for the root). */
export function relativeTo(root: string, host: string): string {
  if (host === root) return "";
  if (!host.startsWith(`${root}/`)) throw new TsbuildError("INTERNAL", `Cannot place "${host}": it is not under "${root}"`);
  return host.slice(root.length + 1);
}
