import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdir, readdir, unlink } from "node:fs/promises";
import { join } from "node:path";
import { TsbuildError } from "../errors.js";
import { isDigest, type Digest } from "../oci/digest.js";
import { isAtomicTempName, writeFileAtomic } from "./atomic-file.js";
import { currentProcess, formatProcessToken, isProcessAlive, type ProcessIdentity } from "./process-identity.js";
import type { StorePaths } from "./store-paths.js";

/**
 * A garbage-collection root: something that holds blobs and snapshots alive. Containers,
 * build cache records and leases each register one at `<root>/metadata/refs/<kind>/<id>.json`.
 * Blobs are held transitively: holding a manifest holds its config and layers.
 */
export interface RefRecord {
  kind: string;
  id: string;
  blobs: Digest[];
  /** Snapshot keys (chain ids, or the snapshotter's own keys) this record holds. */
  snapshots: string[];
  /** Bytes used outside the content store (a container's writable layer), for disk usage. */
  size?: number;
  /** When set, the record holds only while this process runs (a lease). */
  owner?: ProcessIdentity;
  /**
   * When set, the record holds its blobs only while this blob is held by something else,
   * and garbage collection drops it once that ends: a blob derived from another (a
   * compressed copy of a layer) lives exactly as long as its source.
   */
  heldWhile?: Digest;
  labels?: Record<string, string>;
  createdAt: string;
  updatedAt: string;
}

/** What a caller gives to `RefStore.put`. */
export interface RefInput {
  blobs?: Digest[];
  snapshots?: string[];
  size?: number;
  owner?: ProcessIdentity;
  heldWhile?: Digest;
  labels?: Record<string, string>;
  /**
   * Default true: the record is fsynced. False for records that need not outlive a power
   * loss (a cache, a note); a lease (with an owner) never does, since its owner would not.
   */
  durable?: boolean;
}

/** A ref record that could not be read (fsck reports these; listings skip them). */
export interface UnreadableRef {
  kind: string;
  id: string;
  path: string;
  reason: string;
}

/** The well-known kinds; any lowercase word works. */
export const REF_KINDS = { container: "container", cache: "cache", lease: "lease" } as const;

/** Runs `fn` under the store lock; supplied by the Store. */
export type WithStoreLock = <T>(fn: () => Promise<T>) => Promise<T>;

const KIND_PATTERN = /^[a-z][a-z0-9-]{0,63}$/;
const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:@+-]{0,254}$/;

/** The ref records of a store. Every change runs under the store lock, so GC sees a stable set. */
export class RefStore {
  readonly #paths: StorePaths;
  readonly #withLock: WithStoreLock;

  constructor(paths: StorePaths, withLock: WithStoreLock) {
    this.#paths = paths;
    this.#withLock = withLock;
  }

  /** Creates or replaces the record `kind`/`id`. */
  async put(kind: string, id: string, input: RefInput = {}): Promise<RefRecord> {
    const path = this.#path(kind, id);
    const blobs = [...new Set(input.blobs ?? [])];
    for (const digest of input.heldWhile === undefined ? blobs : [...blobs, input.heldWhile]) {
      if (!isDigest(digest)) throw new TsbuildError("INVALID_REFERENCE", `Invalid digest "${String(digest)}" in ref "${kind}/${id}"`);
    }
    return this.#withLock(async () => {
      const previous = await this.get(kind, id);
      const now = new Date().toISOString();
      const record: RefRecord = {
        kind,
        id,
        blobs,
        snapshots: [...new Set(input.snapshots ?? [])],
        createdAt: previous?.createdAt ?? now,
        updatedAt: now,
      };
      if (input.size !== undefined) record.size = input.size;
      if (input.owner !== undefined) record.owner = input.owner;
      if (input.heldWhile !== undefined) record.heldWhile = input.heldWhile;
      if (input.labels !== undefined) record.labels = input.labels;
      const text = `${JSON.stringify(record, null, 2)}\n`;
      const durable = input.durable ?? input.owner === undefined;
      // The kind's directory is made only when missing: it nearly always exists.
      await writeFileAtomic(path, text, { durable }).catch(async (error: unknown) => {
        if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
        await mkdir(join(this.#paths.refs, kind), { recursive: true });
        await writeFileAtomic(path, text, { durable });
      });
      return record;
    });
  }

  /** The record `kind`/`id`, or undefined. */
  async get(kind: string, id: string): Promise<RefRecord | undefined> {
    const result = await readRef(this.#path(kind, id), kind, id);
    return "reason" in result ? undefined : result;
  }

  /** Removes a record; true when it existed. */
  async remove(kind: string, id: string): Promise<boolean> {
    const path = this.#path(kind, id);
    return this.#withLock(() => unlinkIfExists(path));
  }

  /** Every readable record (of one kind, when given); unreadable ones are skipped. */
  async list(kind?: string): Promise<RefRecord[]> {
    return (await this.scan(kind)).records;
  }

  /** Every record, with the unreadable ones listed apart. */
  async scan(kind?: string): Promise<{ records: RefRecord[]; unreadable: UnreadableRef[] }> {
    const kinds = kind === undefined ? await listDir(this.#paths.refs) : [checkKind(kind)];
    const records: RefRecord[] = [];
    const unreadable: UnreadableRef[] = [];
    for (const k of kinds.sort()) {
      if (!KIND_PATTERN.test(k)) continue;
      for (const name of (await listDir(join(this.#paths.refs, k))).sort()) {
        if (isAtomicTempName(name) || !name.endsWith(".json")) continue;
        const id = name.slice(0, -".json".length);
        const result = await readRef(join(this.#paths.refs, k, name), k, id);
        if ("reason" in result) unreadable.push(result);
        else records.push(result);
      }
    }
    return { records, unreadable };
  }

  /**
   * Takes a lease: a record owned by this process that holds what is added to it, and makes
   * garbage collection spare every blob written since the lease began, until it is released
   * or this process dies. Builds take one so that blobs written before their image is tagged
   * survive a concurrent `prune`.
   */
  async acquireLease(input: Omit<RefInput, "owner"> = {}): Promise<Lease> {
    const owner = currentProcess();
    const id = `${formatProcessToken(owner)}-${randomBytes(6).toString("hex")}`;
    await this.put(REF_KINDS.lease, id, { ...input, owner });
    return new Lease(this, id, input);
  }

  #path(kind: string, id: string): string {
    checkKind(kind);
    if (!ID_PATTERN.test(id) || id.includes("..")) {
      throw new TsbuildError("INVALID_REFERENCE", `Invalid ref id "${id}": use letters, digits and "_.:@+-", at most 255 characters`);
    }
    return join(this.#paths.refs, kind, `${id}.json`);
  }
}

/**
 * A lease from `RefStore.acquireLease`. Every `hold` resolves once the lease record on disk
 * holds what it added. A build holds the same snapshots and blobs many times (each cache hit,
 * each step), and often several at once: what is held already is not written again, and
 * holds that come while a write is under way share the next one, so a fully cached build
 * writes its lease a few times instead of twice a step.
 */
export class Lease {
  readonly id: string;
  readonly #refs: RefStore;
  readonly #blobs: Set<Digest>;
  readonly #snapshots: Set<string>;
  /** The last write asked for: it covers everything added before it. */
  #last: Promise<void> = Promise.resolve();
  /** A write asked for and not started yet, which later additions join. */
  #next: Promise<void> | undefined;

  constructor(refs: RefStore, id: string, input: Omit<RefInput, "owner">) {
    this.#refs = refs;
    this.id = id;
    this.#blobs = new Set(input.blobs ?? []);
    this.#snapshots = new Set(input.snapshots ?? []);
  }

  /** Adds blobs and snapshots to what the lease holds. */
  async hold(more: { blobs?: Digest[]; snapshots?: string[] }): Promise<void> {
    let added = false;
    for (const blob of more.blobs ?? []) {
      if (this.#blobs.has(blob)) continue;
      this.#blobs.add(blob);
      added = true;
    }
    for (const key of more.snapshots ?? []) {
      if (this.#snapshots.has(key)) continue;
      this.#snapshots.add(key);
      added = true;
    }
    // Nothing new: held once the writes asked for so far are done (one of them has it).
    if (!added) return this.#last;
    this.#next ??= this.#write();
    return this.#next;
  }

  async release(): Promise<void> {
    // A write landing after the removal would bring the record back.
    await this.#last.catch(() => undefined); // its failure went to the holds that waited for it
    await this.#refs.remove(REF_KINDS.lease, this.id);
  }

  #write(): Promise<void> {
    const write = this.#last
      .catch(() => undefined) // that write's failure went to its own holds; this one writes everything again
      .then(async () => {
        this.#next = undefined; // from here on, additions need a write of their own
        await this.#refs.put(REF_KINDS.lease, this.id, { blobs: [...this.#blobs], snapshots: [...this.#snapshots], owner: currentProcess() });
      });
    this.#last = write;
    return write;
  }
}

/** True while a record holds: always, or while its owner process runs. */
export function isRefLive(record: RefRecord): boolean {
  return record.owner === undefined || isProcessAlive(record.owner);
}

async function readRef(path: string, kind: string, id: string): Promise<RefRecord | UnreadableRef> {
  let text: string;
  try {
    // Synchronously: records are small, and a build step reads several (cache, lease, history).
    text = readFileSync(path, "utf8");
  } catch (error) {
    return { kind, id, path, reason: (error as NodeJS.ErrnoException).code === "ENOENT" ? "missing" : (error as Error).message };
  }
  try {
    const value = JSON.parse(text) as RefRecord;
    if (
      value.kind !== kind ||
      value.id !== id ||
      !Array.isArray(value.blobs) ||
      !value.blobs.every(isDigest) ||
      !Array.isArray(value.snapshots) ||
      !value.snapshots.every((key) => typeof key === "string") ||
      (value.heldWhile !== undefined && !isDigest(value.heldWhile))
    ) {
      return { kind, id, path, reason: "not a valid ref record" };
    }
    return value;
  } catch (error) {
    return { kind, id, path, reason: `not JSON: ${(error as Error).message}` };
  }
}

function checkKind(kind: string): string {
  if (!KIND_PATTERN.test(kind)) throw new TsbuildError("INVALID_REFERENCE", `Invalid ref kind "${kind}": use a lowercase word`);
  return kind;
}

async function listDir(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
}

async function unlinkIfExists(path: string): Promise<boolean> {
  try {
    await unlink(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw error;
  }
}
