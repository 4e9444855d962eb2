import { readdir, rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { Readable, Writable } from "node:stream";
import { TsbuildError } from "../errors.js";
import type { Digest } from "../oci/digest.js";
import { writeLayer, type LayerFile, type LayerWriteEntry, type LayerWriteResult } from "../oci/layer-writer.js";
import { listMountPoints, performUnmount } from "./mount-table.js";
import { reclaimSnapshots, SNAPSHOT_OWNER_LABEL } from "./reclaim-snapshots.js";
import { withSystemErrors } from "./system-errors.js";
import { SnapshotMetadata, toInfo, type SnapshotRecord } from "./snapshot-metadata.js";
import type {
  ApplyOptions,
  ApplyResult,
  CleanupResult,
  CommitOptions,
  DiffOptions,
  Mount,
  PrepareOptions,
  SnapshotInfo,
  Snapshotter,
  SnapshotterName,
  SnapshotUsage,
} from "./types.js";
import { crashPoint } from "../util/crash-point.js";
import { lstatIfExists } from "../util/stat-if-exists.js";
import { compareStrings } from "../util/compare-strings.js";

/** A snapshot and its committed ancestors (nearest first), as the implementations see them. */
export interface SnapshotChain {
  key: string;
  record: SnapshotRecord;
  ancestors: Array<{ key: string; record: SnapshotRecord }>;
}

/**
 * What the overlay and native snapshotters share: the metadata table, key and parent rules,
 * mount bookkeeping and the two-phase creation (reserve a directory number under the lock,
 * fill the directory without it, then record the snapshot under the lock again).
 */
export abstract class BaseSnapshotter implements Snapshotter {
  abstract readonly name: SnapshotterName;
  readonly reason: string;
  readonly root: string;
  /** `<root>/snapshots`. */
  readonly snapshotsDir: string;
  protected readonly metadata: SnapshotMetadata;

  constructor(root: string, reason: string) {
    this.root = resolve(root);
    this.reason = reason;
    this.snapshotsDir = join(this.root, "snapshots");
    this.metadata = new SnapshotMetadata(this.snapshotsDir);
  }

  /** Fills a new snapshot directory (`fs/`, `work/`, a copy of the parent ...). */
  protected abstract createDirectories(id: number, kind: "active" | "view", ancestors: SnapshotChain["ancestors"]): Promise<void>;
  /** The mounts of an active snapshot or a view, with absolute paths. */
  protected abstract mountsOf(chain: SnapshotChain): Mount[];
  /** Performs the mounts of `chain` at `target`. */
  protected abstract mountChain(chain: SnapshotChain, target: string): Promise<void>;
  /** The snapshot's changes against its parent. */
  protected abstract changesOf(chain: SnapshotChain): AsyncIterable<LayerWriteEntry>;
  /** Applies a layer into the new directory `id` on top of `ancestors`. */
  protected abstract applyInto(
    id: number,
    ancestors: SnapshotChain["ancestors"],
    layer: Readable,
  ): Promise<{ diffId: Digest; compression: ApplyResult["compression"] }>;

  /** `<root>/snapshots/<id>`. */
  protected dirOf(id: number): string {
    return join(this.snapshotsDir, String(id));
  }

  protected fsOf(id: number): string {
    return join(this.snapshotsDir, String(id), "fs");
  }

  async stat(key: string): Promise<SnapshotInfo> {
    return toInfo(await this.metadata.get(key));
  }

  async prepare(key: string, parent?: string, options: PrepareOptions = {}): Promise<Mount[]> {
    return withSystemErrors(`Cannot prepare snapshot "${key}"`, async () => this.mountsOf(await this.#create(key, "active", parent, options.labels ?? {})));
  }

  async view(key: string, parent: string, options: PrepareOptions = {}): Promise<Mount[]> {
    return withSystemErrors(`Cannot create view "${key}"`, async () => this.mountsOf(await this.#create(key, "view", parent, options.labels ?? {})));
  }

  async mounts(key: string): Promise<Mount[]> {
    return this.mountsOf(await this.#mountable(key));
  }

  async commit(name: string, key: string, options: CommitOptions = {}): Promise<SnapshotInfo> {
    return withSystemErrors(`Cannot commit snapshot "${key}"`, async () => {
      const at = await this.#mountedAt(key);
      if (at !== undefined) throw new TsbuildError("IN_USE", `Cannot commit snapshot "${key}": it is mounted at "${at}"`, { hint: "Unmount it first" });
      // A committed layer outlives the process that made it: it loses its owner label.
      const committed = await this.metadata.commit(key, name, options.labels ?? {}, [SNAPSHOT_OWNER_LABEL]);
      crashPoint("snapshotter.committed");
      return toInfo(committed);
    });
  }

  async remove(key: string): Promise<void> {
    return withSystemErrors(`Cannot remove snapshot "${key}"`, async () => {
      const at = await this.#mountedAt(key);
      if (at !== undefined) throw new TsbuildError("IN_USE", `Cannot remove snapshot "${key}": it is mounted at "${at}"`, { hint: "Unmount it first" });
      const record = await this.metadata.remove(key);
      await rm(this.dirOf(record.id), { recursive: true, force: true });
    });
  }

  async walk(fn: (info: SnapshotInfo) => void | Promise<void>): Promise<void> {
    const records = (await this.metadata.list()).sort((a, b) => compareStrings(a.key, b.key));
    for (const record of records) await fn(toInfo(record));
  }

  async usage(key: string): Promise<SnapshotUsage> {
    return withSystemErrors(`Cannot measure snapshot "${key}"`, async () => {
      const record = await this.metadata.get(key);
      const seen = new Set<bigint>();
      const total: SnapshotUsage = { size: 0, inodes: 0 };
      const visit = async (path: string): Promise<void> => {
        const stat = await lstatIfExists(path, { bigint: true });
        if (stat === undefined || seen.has(stat.ino)) return;
        seen.add(stat.ino);
        total.inodes++;
        total.size += Number(stat.blocks) * 512;
        if (stat.isDirectory()) for (const name of await readdir(path)) await visit(join(path, name));
      };
      // Only the snapshot's own directory counts; views own nothing.
      if (record.kind !== "view") await visit(this.fsOf(record.id));
      return total;
    });
  }

  async mount(key: string, target: string): Promise<void> {
    return withSystemErrors(`Cannot mount snapshot "${key}" at "${target}"`, async () => {
      const chain = await this.#mountable(key);
      const absolute = resolve(target);
      await this.mountChain(chain, absolute);
      try {
        await this.metadata.addMount(absolute, key);
        crashPoint("snapshotter.mounted");
      } catch (error) {
        await performUnmount(absolute).catch(() => undefined); // the record failed; its error is the one to report
        throw error;
      }
    });
  }

  async unmount(target: string): Promise<void> {
    return withSystemErrors(`Cannot unmount "${target}"`, async () => {
      const absolute = resolve(target);
      await performUnmount(absolute);
      await this.metadata.removeMount(absolute);
    });
  }

  async diff(key: string, destination: string | Writable | LayerFile, options: DiffOptions = {}): Promise<LayerWriteResult> {
    return withSystemErrors(`Cannot diff snapshot "${key}"`, async () => {
      const chain = await this.#chain(key);
      if (chain.record.kind === "view") throw new TsbuildError("CONFLICT", `Cannot diff snapshot "${key}": it is a view and has no changes`);
      return writeLayer(this.changesOf(chain), destination, {
        compression: options.compression,
        sourceDateEpoch: options.sourceDateEpoch,
        ...(options.signal === undefined ? {} : { signal: options.signal }),
        ...(options.reuse === undefined ? {} : { reuse: options.reuse }),
        ...(options.index === true ? { index: true } : {}),
        ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
      });
    });
  }

  async apply(key: string, layer: Readable, options: ApplyOptions = {}): Promise<ApplyResult> {
    return withSystemErrors(`Cannot apply layer as snapshot "${key}"`, async () => {
      const ancestors = await this.#checkNew(key, options.parent);
      const id = await this.metadata.reserveId();
      let result: { diffId: Digest; compression: ApplyResult["compression"] };
      let record: SnapshotRecord;
      try {
        result = await this.applyInto(id, ancestors, layer);
        if (options.expectedDiffId !== undefined && result.diffId !== options.expectedDiffId) {
          throw new TsbuildError(
            "DIGEST_MISMATCH",
            `Cannot apply layer as "${key}": its uncompressed content is "${result.diffId}", not "${options.expectedDiffId}"`,
            { hint: "The layer blob does not belong to this image; pull it again" },
          );
        }
        record = await this.metadata.create(key, id, { kind: "committed", parent: options.parent, labels: options.labels ?? {} });
      } catch (error) {
        await this.#discard(id);
        throw error;
      }
      return { info: toInfo(record), diffId: result.diffId, compression: result.compression };
    });
  }

  /** Makes and records a new active snapshot or view; returns its chain. */
  async #create(key: string, kind: "active" | "view", parent: string | undefined, labels: Record<string, string>): Promise<SnapshotChain> {
    const ancestors = await this.#checkNew(key, parent);
    const id = await this.metadata.reserveId();
    try {
      await this.createDirectories(id, kind, ancestors);
      const record = await this.metadata.create(key, id, { kind, parent, labels });
      return { key, record, ancestors };
    } catch (error) {
      await this.#discard(id);
      throw error;
    }
  }

  /** Throws unless `key` is free and `parent` (if any) is a committed snapshot; returns the parent's chain. */
  async #checkNew(key: string, parent: string | undefined): Promise<SnapshotChain["ancestors"]> {
    if (key === "") throw new TsbuildError("USAGE", "Cannot create snapshot: key is empty");
    if ((await this.metadata.find(key)) !== undefined) throw new TsbuildError("CONFLICT", `Cannot create snapshot "${key}": it exists`);
    if (parent === undefined) return [];
    const record = await this.metadata.get(parent);
    if (record.kind !== "committed") {
      throw new TsbuildError("CONFLICT", `Cannot create snapshot "${key}" on "${parent}": the parent is ${record.kind}, not committed`);
    }
    return [{ key: parent, record }, ...(await this.metadata.ancestors(record))];
  }

  /** Removes a reserved directory that will not become a snapshot. */
  async #discard(id: number): Promise<void> {
    await rm(this.dirOf(id), { recursive: true, force: true });
    await this.metadata.releaseId(id).catch(() => undefined); // a reservation left behind is dropped by the next reclaim
  }

  async cleanup(): Promise<CleanupResult> {
    return withSystemErrors("Cannot clean up snapshots", async () => {
      const reclaimed = await reclaimSnapshots(this.snapshotsDir);
      return { removed: reclaimed.orphans, reclaimed: reclaimed.snapshots };
    });
  }

  async #chain(key: string): Promise<SnapshotChain> {
    const record = await this.metadata.get(key);
    return { key, record, ancestors: await this.metadata.ancestors(record) };
  }

  /** The chain of an active snapshot or a view; a committed one cannot be mounted. */
  async #mountable(key: string): Promise<SnapshotChain> {
    const chain = await this.#chain(key);
    if (chain.record.kind === "committed") {
      throw new TsbuildError("CONFLICT", `Cannot mount snapshot "${key}": it is committed`, {
        hint: "Prepare an active snapshot or a view on top of it",
      });
    }
    return chain;
  }

  /** Where `key` is mounted now, from our records checked against the live mount table. */
  async #mountedAt(key: string): Promise<string | undefined> {
    const targets = [...(await this.metadata.listMounts())].filter(([, at]) => at === key).map(([target]) => target);
    if (targets.length === 0) return undefined;
    const mounted = await listMountPoints();
    return targets.find((target) => mounted.has(target));
  }
}
