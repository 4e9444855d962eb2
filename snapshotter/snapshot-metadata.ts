import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { TsbuildError } from "../errors.js";
import { writeFileAtomic } from "../store/atomic-file.js";
import { withFileLock } from "../store/file-lock.js";
import { currentProcess, type ProcessIdentity } from "../store/process-identity.js";
import type { SnapshotInfo, SnapshotKind } from "./types.js";

/** What is stored for one snapshot. */
export interface SnapshotRecord {
  /** Directory number: `<root>/snapshots/<id>/`. */
  id: number;
  kind: SnapshotKind;
  parent?: string;
  labels: Record<string, string>;
  created: string;
  updated: string;
}

export interface SnapshotTable {
  version: 1;
  /** Next directory number to hand out; numbers are never reused. */
  nextId: number;
  snapshots: Record<string, SnapshotRecord>;
  /** Mount targets this snapshotter mounted, and the snapshot key at each. */
  mounts: Record<string, string>;
  /**
   * Directory numbers handed out but not yet recorded as snapshots, with the process filling
   * each: a directory whose process is gone is an orphan that `cleanup` removes.
   */
  reserved: Record<string, ProcessIdentity>;
}

/**
 * The snapshot table of one root, `<root>/snapshots/metadata.json`, written atomically and
 * changed only under the store's cross-process lock, so concurrent tsbuild processes never
 * lose each other's updates.
 */
export class SnapshotMetadata {
  readonly dir: string;
  readonly #file: string;
  readonly #lock: string;

  constructor(snapshotsDir: string) {
    this.dir = snapshotsDir;
    this.#file = join(snapshotsDir, "metadata.json");
    this.#lock = join(snapshotsDir, "metadata.lock");
  }

  async read(): Promise<SnapshotTable> {
    let text: string;
    try {
      text = await readFile(this.#file, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return { version: 1, nextId: 1, snapshots: {}, mounts: {}, reserved: {} };
      throw error;
    }
    try {
      const table = JSON.parse(text) as SnapshotTable;
      table.reserved ??= {};
      return table;
    } catch (error) {
      throw new TsbuildError("INTERNAL", `Cannot read snapshot metadata "${this.#file}": it is not valid JSON`, { cause: error });
    }
  }

  /** Read-modify-write under the lock; `fn` may throw to leave the table unchanged. */
  async update<T>(fn: (table: SnapshotTable) => T | Promise<T>): Promise<T> {
    await mkdir(this.dir, { recursive: true });
    return withFileLock(this.#lock, async () => {
      const table = await this.read();
      const result = await fn(table);
      await writeFileAtomic(this.#file, JSON.stringify(table, null, 1));
      return result;
    });
  }

  /** Hands out a new directory number, reserved for this process until recorded or released. */
  async reserveId(): Promise<number> {
    return this.update((table) => {
      const id = table.nextId++;
      table.reserved[String(id)] = currentProcess();
      return id;
    });
  }

  /** Drops the reservation of a directory number that will not become a snapshot. */
  async releaseId(id: number): Promise<void> {
    await this.update((table) => {
      delete table.reserved[String(id)];
    });
  }

  async get(key: string): Promise<SnapshotRecord> {
    const record = (await this.read()).snapshots[key];
    if (record === undefined) throw notFound(key);
    return record;
  }
}

export function notFound(key: string): TsbuildError {
  return new TsbuildError("NOT_FOUND", `Cannot find snapshot "${key}"`);
}

export function toInfo(key: string, record: SnapshotRecord): SnapshotInfo {
  const info: SnapshotInfo = { key, kind: record.kind, labels: { ...record.labels }, created: record.created, updated: record.updated };
  if (record.parent !== undefined) info.parent = record.parent;
  return info;
}

/** The committed ancestors of `key`, nearest first (`key` itself not included). */
export function parentChain(table: SnapshotTable, key: string): Array<{ key: string; record: SnapshotRecord }> {
  const chain: Array<{ key: string; record: SnapshotRecord }> = [];
  let parent = table.snapshots[key]?.parent;
  while (parent !== undefined) {
    const record = table.snapshots[parent];
    if (record === undefined) throw new TsbuildError("INTERNAL", `Cannot find parent snapshot "${parent}" of "${key}"`);
    chain.push({ key: parent, record });
    parent = record.parent;
  }
  return chain;
}
