import { createHash, randomBytes } from "node:crypto";
import { linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, renameSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { mkdir, readdir, readFile, rename, rm, symlink, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { TsbuildError } from "../errors.js";
import { writeFileAtomic } from "../store/atomic-file.js";
import { withFileLock } from "../store/file-lock.js";
import { currentProcess, formatProcessToken, isProcessAlive, parseProcessToken, type ProcessIdentity } from "../store/process-identity.js";
import type { SnapshotInfo, SnapshotKind } from "./types.js";

/** What is stored for one snapshot, in `<snapshots>/<id>/record.json`. */
export interface SnapshotRecord {
  /** Directory number: `<root>/snapshots/<id>/`. */
  id: number;
  /** The key the snapshot has now (a commit gives it a new one). */
  key: string;
  kind: SnapshotKind;
  parent?: string;
  labels: Record<string, string>;
  created: string;
  updated: string;
}

/** What `cleanup` found to remove. */
export interface MetadataCleanup {
  /** Numbered directories that hold no snapshot and no live process's reservation. */
  orphans: string[];
}

const RECORD_FILE = "record.json";
const OWNER_FILE = ".owner";
const LEGACY_TABLE = "metadata.json";
const NEXT_ID_FILE = "next-id";
/** A mount note renamed aside on its way out (`removeMount`): not a note any more. */
const SET_ASIDE_INFIX = ".gone-";
/** The hint's text is the number padded with spaces to this width (`Number` ignores them). */
const NEXT_ID_WIDTH = 20;

/**
 * The snapshot records of one root, one file per snapshot instead of one table rewritten on
 * every change, so preparing, mounting and committing a step touch only what they change:
 *
 * - `<id>/record.json`: the snapshot (key, kind, parent, labels); the truth about it.
 * - `keys/<key>`: a symlink to `<id>`, the index by key. symlink(2) fails when the name
 *   exists, so two processes never take one key; a link whose record names another key is
 *   left over from a killed commit and counts as absent.
 * - `mounts/<target>.json`: what this snapshotter mounted where.
 * - `writers/<pid>-<start>`: processes that may leave half-made snapshots when killed. A
 *   reserved directory is created whole with an `.owner` file naming its process (renamed
 *   into place), so `cleanup` can tell a dead process's leftovers from work in progress; it
 *   scans every directory only when a writer died since the last cleanup.
 *
 * The small operations of a step's path (key links, records, reservations, mount notes) are
 * synchronous calls: each is microseconds of system call, where a hop through Node's thread
 * pool costs 0.1 to 1 ms of waiting, a dozen of them per RUN. The fsync of a commit stays
 * asynchronous.
 *
 * Records are renamed into place, so a killed process never leaves half a record. Only a
 * commit is fsynced (a committed snapshot is what cache records point at); active snapshots
 * and views do not outlive a reboot's worth of use anyway. Committed records never change,
 * so they are remembered in memory once read.
 */
export class SnapshotMetadata {
  readonly dir: string;
  readonly #keys: string;
  readonly #mounts: string;
  readonly #writers: string;
  /** `children/<parent key>/<id>`: which directories hold snapshots made on a parent. */
  readonly #children: string;
  readonly #committed = new Map<string, SnapshotRecord>();
  readonly #committedById = new Map<number, SnapshotRecord>();
  #ready: Promise<void> | undefined;
  #nextId: number | undefined;
  #hint: Promise<void> = Promise.resolve();
  #outstanding = 0;
  #registering: Promise<void> | undefined;
  #scanningIds: Promise<number> | undefined;

  constructor(snapshotsDir: string) {
    this.dir = snapshotsDir;
    this.#keys = join(snapshotsDir, "keys");
    this.#mounts = join(snapshotsDir, "mounts");
    this.#writers = join(snapshotsDir, "writers");
    this.#children = join(snapshotsDir, "children");
  }

  /** The record of `key`, or undefined. */
  async find(key: string): Promise<SnapshotRecord | undefined> {
    await this.#prepare();
    const target = this.#keyTarget(key);
    if (target === undefined || !/^\d+$/.test(target)) return undefined;
    const record = this.#readRecord(Number(target));
    return record?.key === key ? record : undefined;
  }

  async get(key: string): Promise<SnapshotRecord> {
    const record = await this.find(key);
    if (record === undefined) throw notFound(key);
    return record;
  }

  /**
   * The committed ancestors of `record`, nearest first. Committed records never change, so
   * those read before are taken from memory once their key links are seen to still point at
   * the same directories (another process may have removed one and made its key again).
   */
  async ancestors(record: SnapshotRecord): Promise<Array<{ key: string; record: SnapshotRecord }>> {
    const remembered: Array<{ key: string; record: SnapshotRecord }> = [];
    for (let parent = record.parent; parent !== undefined; ) {
      const known = this.#committed.get(parent);
      if (known === undefined) break;
      remembered.push({ key: parent, record: known });
      parent = known.parent;
    }
    const links = remembered.map(({ key }) => this.#keyTarget(key));
    const stale = remembered.findIndex(({ record: known }, i) => links[i] !== String(known.id));
    const chain = stale === -1 ? remembered : remembered.slice(0, stale);
    for (let parent = chain.length === 0 ? record.parent : chain[chain.length - 1].record.parent; parent !== undefined; ) {
      const found = await this.find(parent);
      if (found === undefined) throw new TsbuildError("INTERNAL", `Cannot find parent snapshot "${parent}" of "${record.key}"`);
      if (found.kind === "committed") this.#committed.set(parent, found);
      chain.push({ key: parent, record: found });
      parent = found.parent;
    }
    return chain;
  }

  /** Every snapshot, in no particular order. */
  async list(): Promise<SnapshotRecord[]> {
    await this.#prepare();
    const records: SnapshotRecord[] = [];
    for (const name of await readdir(this.#keys)) {
      if (name.startsWith(".")) continue;
      const record = await this.find(decodeName(name));
      if (record !== undefined) records.push(record);
    }
    return records;
  }

  /**
   * Records snapshot `key` in the reserved directory `id`. CONFLICT when the key is taken;
   * NOT_FOUND (and nothing recorded) when `parent` is gone, even if it went meanwhile.
   */
  async create(key: string, id: number, fields: Pick<SnapshotRecord, "kind" | "parent" | "labels">): Promise<SnapshotRecord> {
    if (key === "") throw new TsbuildError("USAGE", "Cannot create snapshot: key is empty");
    const now = new Date().toISOString();
    const record: SnapshotRecord = { id, key, kind: fields.kind, labels: { ...fields.labels }, created: now, updated: now };
    if (fields.parent !== undefined) record.parent = fields.parent;
    await this.#writeRecord(record);
    const link = join(this.#keys, encodeName(key));
    try {
      symlinkSync(String(id), link);
    } catch (error) {
      if (errorCode(error) === "EEXIST") throw new TsbuildError("CONFLICT", `Cannot create snapshot "${key}": it exists`);
      throw error;
    }
    if (fields.parent !== undefined) {
      // A removal of the parent hides its link before it looks for children; noting the
      // child before looking for the parent means one of the two always sees the other.
      const entry = join(this.#children, encodeName(fields.parent), String(id));
      mkdirSync(join(this.#children, encodeName(fields.parent)), { recursive: true });
      writeFileSync(entry, "");
      if ((await this.find(fields.parent)) === undefined) {
        await unlink(entry).catch(() => undefined); // the parent's removal takes its children directory
        await unlink(link);
        throw notFound(fields.parent);
      }
    }
    this.#outstanding = Math.max(0, this.#outstanding - 1);
    return record;
  }

  /** Gives the active snapshot `key` the name `name` as a committed one (fsynced). */
  /** Commits active `key` as `name`, adding `labels` and dropping those named in `drop`. */
  async commit(key: string, name: string, labels: Record<string, string>, drop: readonly string[] = []): Promise<SnapshotRecord> {
    await this.#register();
    const record = await this.get(key);
    if (record.kind !== "active") {
      throw new TsbuildError("CONFLICT", `Cannot commit snapshot "${key}": it is ${record.kind === "view" ? "a view" : "already committed"}`);
    }
    try {
      // A second name for the same link (link(2) does not follow it), not a new one: on this
      // root's file system every new inode can cost a scan (docs/architecture.md, phase 9).
      linkSync(join(this.#keys, encodeName(key)), join(this.#keys, encodeName(name)));
    } catch (error) {
      if (errorCode(error) === "EEXIST") throw new TsbuildError("CONFLICT", `Cannot commit snapshot "${key}" as "${name}": "${name}" exists`);
      throw error;
    }
    const kept = Object.fromEntries(Object.entries({ ...record.labels, ...labels }).filter(([label]) => !drop.includes(label)));
    const committed: SnapshotRecord = { ...record, key: name, kind: "committed", labels: kept, updated: new Date().toISOString() };
    await this.#writeRecord(committed);
    this.#committedById.set(committed.id, committed);
    unlinkSync(join(this.#keys, encodeName(key)));
    return committed;
  }

  /**
   * Drops the record of `key` (the caller removes its directory). A committed snapshot with
   * children is IN_USE and stays.
   */
  async remove(key: string): Promise<SnapshotRecord> {
    await this.#register();
    const record = await this.get(key);
    const link = join(this.#keys, encodeName(key));
    const notedInParent = async () => {
      if (record.parent !== undefined) await unlink(join(this.#children, encodeName(record.parent), String(record.id))).catch(() => undefined);
    };
    if (record.kind !== "committed") {
      await unlink(link);
      await notedInParent();
      return record;
    }
    // Only a committed snapshot can be a parent: hide it first, then look for children.
    const hidden = join(this.#keys, `.removing-${formatProcessToken(currentProcess())}-${randomBytes(4).toString("hex")}`);
    await rename(link, hidden);
    const child = await this.#childOf(key);
    if (child !== undefined) {
      await rename(hidden, link);
      throw new TsbuildError("IN_USE", `Cannot remove snapshot "${key}": snapshot "${child}" is based on it`, {
        hint: "Remove the snapshots based on it first",
      });
    }
    await unlink(hidden);
    await rm(join(this.#children, encodeName(key)), { recursive: true, force: true });
    await notedInParent();
    this.#committed.delete(key);
    this.#committedById.delete(record.id);
    return record;
  }

  /** The key of a snapshot made on `key`, if any (entries of removed children are skipped). */
  async #childOf(key: string): Promise<string | undefined> {
    const dir = join(this.#children, encodeName(key));
    const ids = await readdir(dir).catch((error: unknown) => {
      if (errorCode(error) === "ENOENT") return [] as string[];
      throw error;
    });
    for (const id of ids) {
      if (!/^\d+$/.test(id)) continue;
      const record = this.#readRecord(Number(id));
      if (record !== undefined && record.parent === key && (await this.find(record.key)) !== undefined) return record.key;
    }
    return undefined;
  }

  /**
   * Hands out a new directory number: the directory appears whole, with an owner file naming
   * this process, until the snapshot is recorded in it or it is removed.
   */
  async reserveId(): Promise<number> {
    await this.#register();
    const owner = formatProcessToken(currentProcess());
    const staged = mkdtempSync(join(this.dir, `.new-${owner}-`));
    writeFileSync(join(staged, OWNER_FILE), owner);
    for (let id = await this.#firstFreeId(); ; id++) {
      try {
        renameSync(staged, join(this.dir, String(id)));
        this.#nextId = id + 1;
        this.#outstanding++;
        this.#writeNextIdHint();
        return id;
      } catch (error) {
        if (errorCode(error) !== "EEXIST" && errorCode(error) !== "ENOTEMPTY") {
          await rm(staged, { recursive: true, force: true });
          throw error;
        }
      }
    }
  }

  /**
   * A hint for the next process, so numbers of removed snapshots are not handed out again;
   * best effort, as before. Written in the background (a write can wait on the journal while
   * a step's unmount flushes), one at a time with the latest number, so it only grows.
   */
  #writeNextIdHint(): void {
    // Overwritten in place at a fixed width, never truncated: on a file system mounted with
    // `discard`, truncating a file that has a block waits for the device to discard it.
    const text = String(this.#nextId).padEnd(NEXT_ID_WIDTH);
    const path = join(this.dir, NEXT_ID_FILE);
    this.#hint = this.#hint.then(() =>
      writeFile(path, text, { flag: "r+" })
        .catch((error: unknown) => (errorCode(error) === "ENOENT" ? writeFile(path, text) : undefined))
        .catch(() => undefined),
    );
  }

  /** Drops the reservation of a directory number that will not become a snapshot (its directory is gone). */
  async releaseId(id: number): Promise<void> {
    void id;
    this.#outstanding = Math.max(0, this.#outstanding - 1);
  }

  /** Notes that `key` is mounted at `target`. */
  async addMount(target: string, key: string): Promise<void> {
    await this.#prepare();
    writeFileSync(this.#mountFile(target), JSON.stringify({ target, key }));
  }

  /**
   * Forgets the note of `target`. The note is renamed aside at once and removed in the
   * background: on a disk mounted with `discard`, an unlink that frees a block waits for the
   * device, here on the main thread of every step. Whatever stays aside (a kill, a failed
   * removal) is removed by the next `listMounts`.
   */
  async removeMount(target: string): Promise<void> {
    const note = this.#mountFile(target);
    const aside = `${note}${SET_ASIDE_INFIX}${randomBytes(6).toString("hex")}`;
    try {
      renameSync(note, aside);
    } catch (error) {
      if (errorCode(error) !== "ENOENT") throw error;
      return;
    }
    unlink(aside).catch(() => undefined); // see above
  }

  /** Mount targets this snapshotter noted, with the key at each. */
  async listMounts(): Promise<Map<string, string>> {
    await this.#prepare();
    const mounts = new Map<string, string>();
    // Read synchronously, as the records: a commit and a removal look here, and a build has a
    // few of these small files at a time (one async read is four round trips to the pool).
    for (const name of readdirSync(this.#mounts)) {
      if (name.includes(SET_ASIDE_INFIX)) {
        unlink(join(this.#mounts, name)).catch(() => undefined); // another process may be removing it too
        continue;
      }
      let entry: { target: string; key: string } | undefined;
      try {
        entry = JSON.parse(readFileSync(join(this.#mounts, name), "utf8")) as { target: string; key: string };
      } catch {
        // A record cut short by a kill, half written or just removed by another process: the mount table decides.
      }
      if (entry !== undefined) mounts.set(entry.target, entry.key);
    }
    return mounts;
  }

  /**
   * Forgets mounts that are gone and, when a writer died since the last cleanup, finds what
   * it left: numbered directories that hold no snapshot and no live reservation, staged
   * directories, key links of half-done commits and removals.
   */
  /**
   * Writers (processes that made snapshots) that are gone: only they can have left half-made
   * snapshots, owned active ones or orphan directories, so without them there is nothing to scan.
   */
  async deadWriters(): Promise<string[]> {
    await this.#prepare();
    return (await readdir(this.#writers)).filter((name) => {
      const owner = parseProcessToken(name);
      return owner === undefined || !isProcessAlive(owner);
    });
  }

  async cleanup(mounted: Set<string>): Promise<MetadataCleanup> {
    await this.#prepare();
    for (const [target] of await this.listMounts()) if (!mounted.has(target)) await this.removeMount(target);
    const dead = await this.deadWriters();
    if (dead.length === 0) return { orphans: [] };
    const orphans: string[] = [];
    const live = new Set((await this.list()).map((record) => String(record.id)));
    for (const name of await readdir(this.dir)) {
      if (/^\d+$/.test(name)) {
        if (live.has(name)) continue;
        const owner = parseProcessToken(await readFile(join(this.dir, name, OWNER_FILE), "utf8").catch(() => ""));
        if (owner === undefined || !isProcessAlive(owner)) orphans.push(name);
      } else if (name.startsWith(".new-")) {
        const owner = parseProcessToken(name.slice(".new-".length));
        if (owner === undefined || !isProcessAlive(owner)) await rm(join(this.dir, name), { recursive: true, force: true });
      }
    }
    for (const name of await readdir(this.#keys)) {
      if (name.startsWith(".removing-")) {
        const owner = parseProcessToken(name.slice(".removing-".length));
        // A removal killed half way: the snapshot is hidden, so it is as good as gone.
        if (owner === undefined || !isProcessAlive(owner)) await unlink(join(this.#keys, name)).catch(() => undefined);
      } else if (!name.startsWith(".") && (await this.find(decodeName(name))) === undefined) {
        await unlink(join(this.#keys, name)).catch(() => undefined); // a commit killed half way
      }
    }
    for (const name of dead) await unlink(join(this.#writers, name)).catch(() => undefined);
    return { orphans };
  }

  /** Mount targets can be long paths: their records are named by a hash. */
  #mountFile(target: string): string {
    return join(this.#mounts, `${createHash("sha256").update(target).digest("hex").slice(0, 32)}.json`);
  }

  /**
   * Registers this process as a writer (once), and unregisters it at a clean exit with nothing
   * left half made. Steps starting side by side share the one registration.
   */
  #register(): Promise<void> {
    if (this.#registering === undefined) {
      const registering = (async () => {
        await this.#prepare();
        const marker = join(this.#writers, formatProcessToken(currentProcess()));
        await writeFile(marker, "");
        removeAtExit(marker, () => this.#outstanding === 0);
      })();
      this.#registering = registering;
      // A failure is its callers'; the next caller tries again.
      registering.catch(() => (this.#registering === registering ? (this.#registering = undefined) : undefined));
    }
    return this.#registering;
  }

  /** The lowest directory number not taken, looked up once (steps reserving side by side share the look). */
  async #firstFreeId(): Promise<number> {
    if (this.#nextId !== undefined) return this.#nextId;
    if (this.#scanningIds === undefined) {
      const scanning = (async () => {
        const numbers = (await readdir(this.dir)).filter((name) => /^\d+$/.test(name)).map(Number);
        const hint = Number(await readFile(join(this.dir, NEXT_ID_FILE), "utf8").catch(() => "0"));
        return Math.max(Math.max(0, ...numbers) + 1, Number.isSafeInteger(hint) ? hint : 0);
      })();
      this.#scanningIds = scanning;
      // A failure is its callers'; the next caller looks again.
      scanning.catch(() => (this.#scanningIds === scanning ? (this.#scanningIds = undefined) : undefined));
    }
    const first = await this.#scanningIds;
    this.#nextId ??= first;
    return this.#nextId;
  }

  /** Where the key link of `key` points, or undefined when there is none. */
  #keyTarget(key: string): string | undefined {
    try {
      return readlinkSync(join(this.#keys, encodeName(key)));
    } catch (error) {
      if (errorCode(error) === "ENOENT") return undefined;
      throw error;
    }
  }

  #readRecord(id: number): SnapshotRecord | undefined {
    // A committed record never changes, and its number is never handed out again.
    const known = this.#committedById.get(id);
    if (known !== undefined) return known;
    let text: string;
    try {
      text = readFileSync(join(this.dir, String(id), RECORD_FILE), "utf8");
    } catch (error) {
      if (errorCode(error) === "ENOENT") return undefined;
      throw error;
    }
    try {
      const record = { ...(JSON.parse(text) as SnapshotRecord), id };
      if (record.kind === "committed") this.#committedById.set(id, record);
      return record;
    } catch (error) {
      throw new TsbuildError("INTERNAL", `Cannot read snapshot record "${join(this.dir, String(id), RECORD_FILE)}": it is not valid JSON`, { cause: error });
    }
  }

  /** Written whole and renamed into place; fsynced when committed. */
  async #writeRecord(record: SnapshotRecord): Promise<void> {
    const path = join(this.dir, String(record.id), RECORD_FILE);
    const text = JSON.stringify(record);
    if (record.kind === "committed") return writeFileAtomic(path, text);
    const tmp = `${path}.tmp-${randomBytes(4).toString("hex")}`;
    writeFileSync(tmp, text);
    renameSync(tmp, path);
  }

  /** Makes the directories once, and moves a root of the one-table format over. */
  #prepare(): Promise<void> {
    this.#ready ??= (async () => {
      await Promise.all([this.#keys, this.#mounts, this.#writers, this.#children].map((dir) => mkdir(dir, { recursive: true })));
      await this.#migrate();
    })();
    return this.#ready;
  }

  /** Roots written before records went per snapshot kept one `metadata.json`: split it, under its old lock. */
  async #migrate(): Promise<void> {
    const legacy = join(this.dir, LEGACY_TABLE);
    const exists = await readFile(legacy, "utf8").then(() => true, () => false);
    if (!exists) return;
    await withFileLock(join(this.dir, "metadata.lock"), async () => {
      let table: LegacyTable;
      try {
        table = JSON.parse(await readFile(legacy, "utf8")) as LegacyTable;
      } catch (error) {
        if (errorCode(error) === "ENOENT") return; // another process migrated it meanwhile
        throw error;
      }
      for (const [key, old] of Object.entries(table.snapshots ?? {})) {
        const record: SnapshotRecord = { id: old.id, key, kind: old.kind, labels: old.labels ?? {}, created: old.created, updated: old.updated };
        if (old.parent !== undefined) record.parent = old.parent;
        await this.#writeRecord(record);
        await writeFile(join(this.dir, NEXT_ID_FILE), String(Math.max(table.nextId ?? 0, old.id + 1))).catch(() => undefined);
        await symlink(String(old.id), join(this.#keys, encodeName(key))).catch((error: unknown) => {
          if (errorCode(error) !== "EEXIST") throw error;
        });
        if (record.parent !== undefined) {
          await mkdir(join(this.#children, encodeName(record.parent)), { recursive: true });
          await writeFile(join(this.#children, encodeName(record.parent), String(record.id)), "");
        }
      }
      for (const [target, key] of Object.entries(table.mounts ?? {})) await this.addMount(target, key);
      // Reservations of the old table are directories without records: the next cleanup judges them.
      await writeFile(join(this.#writers, "0-0-migrated"), "");
      await unlink(legacy);
    });
  }
}

/** Writer markers to remove when the process exits cleanly, each while its condition holds. */
const exitMarkers = new Map<string, () => boolean>();

function removeAtExit(marker: string, when: () => boolean): void {
  if (exitMarkers.size === 0) {
    process.once("exit", () => {
      for (const [path, clean] of exitMarkers) {
        if (!clean()) continue;
        try {
          unlinkSync(path);
        } catch {
          // Gone already: another process's cleanup took it, or the root was removed.
        }
      }
    });
  }
  const before = exitMarkers.get(marker);
  exitMarkers.set(marker, before === undefined ? when : () => before() && when());
}

interface LegacyTable {
  nextId?: number;
  snapshots?: Record<string, { id: number; kind: SnapshotKind; parent?: string; labels?: Record<string, string>; created: string; updated: string }>;
  mounts?: Record<string, string>;
  reserved?: Record<string, ProcessIdentity>;
}

export function notFound(key: string): TsbuildError {
  return new TsbuildError("NOT_FOUND", `Cannot find snapshot "${key}"`);
}

export function toInfo(record: SnapshotRecord): SnapshotInfo {
  const info: SnapshotInfo = { key: record.key, kind: record.kind, labels: { ...record.labels }, created: record.created, updated: record.updated };
  if (record.parent !== undefined) info.parent = record.parent;
  return info;
}

/** A key or mount target as a file name: percent-encoded, with no leading dot (names of ours start with one). */
function encodeName(text: string): string {
  return encodeURIComponent(text).replace(/^\./, "%2E");
}

function decodeName(name: string): string {
  return decodeURIComponent(name);
}

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}
