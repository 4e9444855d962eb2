import { AsyncLocalStorage } from "node:async_hooks";
import { access, constants, mkdir, readdir, unlink } from "node:fs/promises";
import { join } from "node:path";
import { TsbuildError } from "../errors.js";
import { errnoOf, systemError } from "../util/system-error.js";
import type { Digest } from "../oci/digest.js";
import { familiarString, formatReference, parseReference, withDefaultTag } from "../oci/reference.js";
import { atomicTempWriter, isAtomicTempName } from "./atomic-file.js";
import { BlobGraphWalker } from "./blob-graph.js";
import { checkStore, type FsckOptions, type FsckReport } from "./check-store.js";
import { ContentStore } from "./content-store.js";
import { computeDiskUsage, type DiskUsage } from "./disk-usage.js";
import { cleanLockLeftovers, withFileLock } from "./file-lock.js";
import { collectGarbage, type GcOptions, type GcReport, type StoreParts } from "./garbage-collector.js";
import { ImageStore, type ImageSummary } from "./image-store.js";
import { ensureLayoutFiles } from "./layout-index.js";
import { isProcessAlive } from "./process-identity.js";
import { REF_KINDS, RefStore, isRefLive, type RefRecord } from "./ref-store.js";
import { resolveRoot, type ResolveRootOptions } from "./resolve-root.js";
import { storePaths, type StorePaths } from "./store-paths.js";
import { statIfExists } from "../util/stat-if-exists.js";

export interface OpenStoreOptions extends ResolveRootOptions {
  /** Give up waiting for the store lock after this long (IN_USE). Default: wait. */
  lockTimeoutMs?: number;
  /** Skip the start-up cleanup (for read-only commands that must be fast). Default false. */
  skipRepair?: boolean;
}

/** What the start-up cleanup removed. */
export interface RepairReport {
  ingestFiles: string[];
  tempFiles: string[];
  lockLeftovers: number;
  deadLeases: string[];
}

export interface RemoveImageOptions extends GcOptions {
  /** Remove even when several names or a container use the image (docker's `rmi -f`). */
  force?: boolean;
  /** Run garbage collection after a deletion. Default true. */
  prune?: boolean;
}

export interface RemoveImageResult {
  /** Names removed, as docker shows them (`busybox:latest`). */
  untagged: string[];
  /** Images whose records were deleted. */
  deleted: ImageSummary[];
  /** Present when garbage collection ran; its unreferencedSnapshots are for the snapshotter. */
  gc?: GcReport;
}

export interface PruneOptions extends GcOptions {
  /** Also remove named images that no container uses (docker's `image prune -a`). */
  all?: boolean;
  /** Remove build cache records. */
  cache?: boolean;
  /** With `cache`: only records last updated before this time. Default: all of them. */
  cacheUntil?: Date;
}

export interface PruneReport {
  deleted: ImageSummary[];
  untagged: string[];
  removedCache: string[];
  gc: GcReport;
}

// Temp files of unknown writers are removed once this old.
const STALE_TEMP_MS = 60 * 60 * 1000;

/**
 * A tsbuild store at one root: blobs (content), image records (images), GC roots (refs).
 * Several processes may open the same root; changes to records and garbage collection
 * serialise on one cross-process lock, blob writes need none (see store/README.md).
 */
export class Store {
  readonly root: string;
  readonly paths: StorePaths;
  readonly content: ContentStore;
  readonly images: ImageStore;
  readonly refs: RefStore;
  /**
   * True when the root is on a read-only file system: nothing can change it, so reading
   * needs no lock, and every change fails with READ_ONLY before it starts.
   */
  readonly readOnly: boolean;
  readonly #walker: BlobGraphWalker;
  readonly #lockTimeoutMs: number | undefined;
  // Marks the async context that holds the lock; the flag is cleared on release so that a
  // callback scheduled under the lock and run later does not think it still holds it. It is
  // disabled whenever nothing holds the lock: while enabled, an AsyncLocalStorage puts async
  // hooks on every promise of the process (15-25 ms of a small build's main thread, phase 8).
  readonly #holding = new AsyncLocalStorage<{ held: boolean }>();
  /** Calls of `fn` under the lock not yet returned. */
  #holders = 0;

  constructor(root: string, options: { lockTimeoutMs?: number; readOnly?: boolean } = {}) {
    this.root = root;
    this.readOnly = options.readOnly ?? false;
    this.paths = storePaths(root);
    this.#lockTimeoutMs = options.lockTimeoutMs;
    const withLock = this.withLock.bind(this) as <T>(fn: () => Promise<T>) => Promise<T>;
    this.content = new ContentStore(this.paths);
    this.#walker = new BlobGraphWalker(this.content);
    this.images = new ImageStore({ paths: this.paths, content: this.content, walker: this.#walker, withLock });
    this.refs = new RefStore(this.paths, withLock);
  }

  /** Runs `fn` holding the store lock; nested calls from within `fn` do not lock again. */
  async withLock<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#holding.getStore()?.held === true) return fn();
    if (this.readOnly) {
      throw new TsbuildError("READ_ONLY", `Cannot change the store at "${this.root}": it is on a read-only file system`, {
        hint: "Commands that only read (images, inspect, history, save, fsck) work; remount the root read-write to change it",
      });
    }
    const options = this.#lockTimeoutMs === undefined ? {} : { timeoutMs: this.#lockTimeoutMs };
    return withFileLock(
      this.paths.storeLock,
      async () => {
        const token = { held: true };
        this.#holders++;
        try {
          return await this.#holding.run(token, fn);
        } finally {
          token.held = false;
          if (--this.#holders === 0) this.#holding.disable();
        }
      },
      options,
    );
  }

  /**
   * Makes the root usable after any crash: creates missing directories and layout files, and
   * removes what dead processes left (ingest files, temp files, lock files, leases). Files
   * of live processes are never touched.
   */
  async repair(): Promise<RepairReport> {
    // Every command opens the store: its directories and scans go side by side.
    await Promise.all([this.paths.blobs, this.paths.ingest, this.paths.refs, this.paths.locks, this.paths.snapshots, this.paths.containers, this.paths.volumes].map((dir) => mkdir(dir, { recursive: true })));
    return this.withLock(async () => {
      const [ingestFiles, refKinds] = await Promise.all([this.content.cleanIngest(), readdir(this.paths.refs), ensureLayoutFiles(this.paths)]);
      const tempDirs = [this.paths.content, this.paths.blobs, this.paths.metadata, this.paths.refs, ...refKinds.map((kind) => join(this.paths.refs, kind))];
      const [tempFiles, lockLeftovers, leases] = await Promise.all([
        Promise.all(tempDirs.map(removeStaleTempFiles)).then((lists) => lists.flat()),
        cleanLockLeftovers(this.paths.locks),
        this.refs.list(REF_KINDS.lease),
      ]);
      const deadLeases: string[] = [];
      for (const lease of leases) {
        if (!isRefLive(lease) && (await this.refs.remove(lease.kind, lease.id))) deadLeases.push(lease.id);
      }
      return { ingestFiles, tempFiles, lockLeftovers, deadLeases };
    });
  }

  /** Deletes blobs no root reaches; see GcOptions for the snapshot seam. */
  async gc(options: GcOptions = {}): Promise<GcReport> {
    return this.withLock(() => collectGarbage(this.#parts(), options));
  }

  /**
   * docker's `rmi`: a name is untagged, and the image is deleted when it was its last name;
   * an id or digest deletes the image with all its names. Without `force`, an image a
   * container uses is not deleted (IN_USE), nor one named several times by id (CONFLICT).
   * Then unreferenced blobs are collected and the snapshots of deleted images that no root
   * still holds are reported (and removed, given `removeSnapshot`).
   */
  async removeImage(text: string, options: RemoveImageOptions = {}): Promise<RemoveImageResult> {
    return this.withLock(async () => {
      const image = await this.images.get(text);
      const users = (await this.#containersUsing()).get(image.digest) ?? [];
      const name = nameIn(text, image);
      const result: RemoveImageResult = { untagged: [], deleted: [] };

      if (name !== undefined && image.names.length > 1) {
        await this.images.removeEntries({ names: [name] });
        result.untagged.push(displayName(name));
        return result;
      }
      if (name === undefined && image.names.length > 1 && !options.force) {
        throw new TsbuildError(
          "CONFLICT",
          `Cannot remove image "${text}": it has ${image.names.length} names (${image.familiarNames.join(", ")})`,
          { hint: "Remove the names one by one, or use --force" },
        );
      }
      if (users.length > 0 && !options.force) {
        throw new TsbuildError(
          "IN_USE",
          `Cannot remove image "${text}": container "${users[0].id}" uses image ${image.shortId}`,
          { hint: "Remove the container first, or use --force" },
        );
      }
      if (name !== undefined && users.length > 0) {
        // Forced removal of the last name of an image a container uses: it stays, dangling.
        await this.images.removeEntries({ names: [name] });
        await this.images.keep(image.digest);
        result.untagged.push(displayName(name));
        return result;
      }
      const chainIds = (await this.#walker.walk([{ digest: image.digest, mediaType: image.mediaType }])).chainIds;
      await this.images.removeEntries({ names: image.names, digests: [image.digest] });
      result.untagged.push(...image.familiarNames);
      result.deleted.push(image);
      if (options.prune !== false) {
        result.gc = await collectGarbage(this.#parts(), { ...options, candidateSnapshotKeys: [...chainIds, ...(options.candidateSnapshotKeys ?? [])] });
      }
      return result;
    });
  }

  /**
   * docker's `image prune` (and `builder prune` with `cache`): removes dangling images (all
   * unused ones with `all`) that no container uses, cache records when asked, then collects
   * garbage.
   */
  async prune(options: PruneOptions = {}): Promise<PruneReport> {
    return this.withLock(async () => {
      const users = await this.#containersUsing();
      const victims = (await this.images.list()).filter(
        (image) => !users.has(image.digest) && (options.all === true || image.names.length === 0),
      );
      const candidates = new Set<string>(options.candidateSnapshotKeys ?? []);
      for (const image of victims) {
        for (const key of (await this.#walker.walk([{ digest: image.digest, mediaType: image.mediaType }])).chainIds) candidates.add(key);
      }
      await this.images.removeEntries({ names: victims.flatMap((image) => image.names), digests: victims.map((image) => image.digest) });
      const removedCache: string[] = [];
      if (options.cache === true) {
        for (const record of await this.refs.list(REF_KINDS.cache)) {
          if (options.cacheUntil !== undefined && Date.parse(record.updatedAt) >= options.cacheUntil.getTime()) continue;
          for (const key of record.snapshots) candidates.add(key);
          if (await this.refs.remove(record.kind, record.id)) removedCache.push(record.id);
        }
      }
      const gc = await collectGarbage(this.#parts(), { ...options, candidateSnapshotKeys: candidates });
      return {
        deleted: victims,
        untagged: victims.flatMap((image) => image.familiarNames),
        removedCache,
        gc,
      };
    });
  }

  /** A `system df`-style report. */
  async usage(): Promise<DiskUsage> {
    return computeDiskUsage(this.#parts());
  }

  /** Verifies every blob and every record; see FsckReport. */
  async fsck(options: FsckOptions = {}): Promise<FsckReport> {
    return checkStore(this.#parts(), options);
  }

  #parts(): StoreParts {
    return { content: this.content, images: this.images, refs: this.refs, walker: this.#walker };
  }

  /** Live container records by the manifest digests they hold. */
  async #containersUsing(): Promise<Map<Digest, RefRecord[]>> {
    const users = new Map<Digest, RefRecord[]>();
    for (const ref of await this.refs.list(REF_KINDS.container)) {
      if (!isRefLive(ref)) continue;
      for (const digest of ref.blobs) users.set(digest, [...(users.get(digest) ?? []), ref]);
    }
    return users;
  }
}

/** Opens (creating when needed) the store at the resolved root and repairs what crashes left. */
export async function openStore(options: OpenStoreOptions = {}): Promise<Store> {
  const root = resolveRoot(options);
  try {
    await mkdir(root, { recursive: true });
  } catch (error) {
    const coded = systemError(error, `Cannot create store root "${root}"`);
    throw new TsbuildError(coded.code, coded.message, { cause: error, hint: "Choose another root with --root or TSBUILD_ROOT" });
  }
  const readOnly = await access(root, constants.W_OK).then(
    () => false,
    (error: unknown) => errnoOf(error) === "EROFS", // EACCES and the like show up, coded, at the first write
  );
  const store = new Store(root, { readOnly, ...(options.lockTimeoutMs === undefined ? {} : { lockTimeoutMs: options.lockTimeoutMs }) });
  if (readOnly) return store;
  if (options.skipRepair === true) {
    await mkdir(store.paths.locks, { recursive: true });
  } else {
    await store.repair();
  }
  return store;
}

/** The full name `text` names when it is a name of `image` (not an id or digest). */
function nameIn(text: string, image: ImageSummary): string | undefined {
  try {
    const reference = parseReference(text);
    if (reference.digest !== undefined) return undefined;
    const name = formatReference(withDefaultTag(reference));
    return image.names.includes(name) ? name : undefined;
  } catch {
    return undefined;
  }
}

function displayName(name: string): string {
  try {
    return familiarString(parseReference(name));
  } catch {
    return name;
  }
}

/** Removes `.tmp-*` files in `dir` whose writer is dead, or of unknown writers and old. */
async function removeStaleTempFiles(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    if (!isAtomicTempName(name)) continue;
    const writer = atomicTempWriter(name);
    const path = join(dir, name);
    if (writer !== undefined ? isProcessAlive(writer) : await isYoung(path)) continue;
    await unlink(path).then(
      () => removed.push(join(dir, name)),
      () => undefined,
    );
  }
  return removed;
}

async function isYoung(path: string): Promise<boolean> {
  const info = await statIfExists(path);
  return info === undefined || Date.now() - info.mtimeMs < STALE_TEMP_MS;
}
