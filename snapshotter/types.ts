import type { Readable, Writable } from "node:stream";
import type { Digest } from "../oci/digest.js";
import type { LayerCompression } from "../oci/layer-compression.js";
import type { LayerFile, LayerReuse, LayerWriteResult } from "../oci/layer-writer.js";

/**
 * The snapshotter interface, after containerd's `snapshots.Snapshotter`: snapshots are named
 * by caller-chosen keys (chain ids for committed layers, random ids for active ones), form
 * parent chains, and are turned into mounts. Mounts are returned as data and can also be
 * performed by the snapshotter, which owns every mount of the project.
 */

/** Active: writable, being changed. View: read-only look at a parent. Committed: an immutable layer. */
export type SnapshotKind = "active" | "view" | "committed";

export interface SnapshotInfo {
  key: string;
  kind: SnapshotKind;
  /** Key of the committed parent, if any. */
  parent?: string;
  labels: Record<string, string>;
  /** ISO 8601 times. */
  created: string;
  updated: string;
}

/** A mount as data, in mount(8) terms: `mount -t <type> <source> -o <options> <target>`. */
export interface Mount {
  type: string;
  source: string;
  options: string[];
}

/** Disk space used by a snapshot's own directory (not its parents). */
export interface SnapshotUsage {
  /** Bytes allocated on disk. */
  size: number;
  inodes: number;
}

export interface PrepareOptions {
  labels?: Record<string, string>;
}

export interface CommitOptions {
  labels?: Record<string, string>;
}

export interface DiffOptions {
  /** Default gzip. zstd needs the `zstd` program. */
  compression?: LayerCompression;
  /** Clamp mtimes to this time (seconds). Default: `SOURCE_DATE_EPOCH` of the environment; null disables it. */
  sourceDateEpoch?: number | null;
  /** Stops the diff: the destination gets no more bytes and a CANCELLED error is thrown. */
  signal?: AbortSignal;
  /** Entries to take from an earlier layer's tar instead of reading the files (oci/layer-writer.ts). */
  reuse?: LayerReuse;
  /** Return the index of the regular files' entries, for a later `reuse`. */
  index?: boolean;
  /** Bytes of the tar made so far, as it grows. */
  onProgress?: (tarBytes: number) => void;
}

export interface ApplyOptions {
  /** The committed snapshot the layer goes on top of. */
  parent?: string;
  labels?: Record<string, string>;
  /**
   * The diffID the image config names for this layer: when the uncompressed tar hashes to
   * anything else, the snapshot is removed and a DIGEST_MISMATCH error thrown.
   */
  expectedDiffId?: Digest;
}

export interface ApplyResult {
  info: SnapshotInfo;
  /** sha256 of the uncompressed tar, to check against the image config's diff_ids. */
  diffId: Digest;
  compression: LayerCompression;
}

export type SnapshotterName = "overlayfs" | "fuse-overlayfs" | "native";

export interface CleanupResult {
  /** Directory numbers of the orphaned snapshot directories removed. */
  removed: number[];
  /** Active snapshots and views of dead processes removed (see reclaim-snapshots.ts). */
  reclaimed: string[];
}

export interface Snapshotter {
  /** Which implementation this is. */
  readonly name: SnapshotterName;
  /** Why it was chosen (the probe's result, or "forced by option"). */
  readonly reason: string;
  /** The root directory (`<root>/snapshots/` holds the snapshots). */
  readonly root: string;

  stat(key: string): Promise<SnapshotInfo>;
  /** Creates an active snapshot on top of `parent` (a committed snapshot) and returns its mounts. */
  prepare(key: string, parent?: string, options?: PrepareOptions): Promise<Mount[]>;
  /** Creates a read-only view of `parent` and returns its mounts. */
  view(key: string, parent: string, options?: PrepareOptions): Promise<Mount[]>;
  /** The mounts of an active snapshot or view. */
  mounts(key: string): Promise<Mount[]>;
  /** Turns the active snapshot `key` into the committed snapshot `name`, without copying. */
  commit(name: string, key: string, options?: CommitOptions): Promise<SnapshotInfo>;
  /** Removes a snapshot; IN_USE when it has children or is mounted. */
  remove(key: string): Promise<void>;
  /** Calls `fn` for every snapshot, in key order. */
  walk(fn: (info: SnapshotInfo) => void | Promise<void>): Promise<void>;
  usage(key: string): Promise<SnapshotUsage>;
  /**
   * The directory holding exactly the snapshot's own changes (an overlay upper directory),
   * for a caller that shares unchanged files between two snapshots by hard link
   * (solver/incremental-copy.ts); none for a snapshotter whose snapshots are full trees.
   * Only while `key` is not mounted may anything be added to an active one's directory.
   */
  changesDirectory?(key: string): Promise<string>;

  /** Mounts snapshot `key` (active or view) at `target`, an existing directory. */
  mount(key: string, target: string): Promise<void>;
  /** Unmounts what this snapshotter mounted at `target`. */
  unmount(target: string): Promise<void>;

  /**
   * Removes snapshot directories no snapshot owns (left by a process killed while creating
   * one), the active snapshots and views of dead processes (unmounted first), and forgets
   * mount records whose mounts are gone.
   */
  cleanup(): Promise<CleanupResult>;

  /** Writes the changes of snapshot `key` (against its parent) as an OCI layer. */
  diff(key: string, destination: string | Writable | LayerFile, options?: DiffOptions): Promise<LayerWriteResult>;
  /** Applies a layer blob (gzip, zstd or plain) as the new committed snapshot `key`. */
  apply(key: string, layer: Readable, options?: ApplyOptions): Promise<ApplyResult>;
}
