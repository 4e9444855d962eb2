import { randomBytes } from "node:crypto";
import { isTsbuildError } from "../errors.js";
import { digestOf, type Digest } from "../oci/digest.js";
import type { Store } from "../store/store.js";
import { CacheIndex, type CacheEntry } from "./cache-index.js";
import type { CacheConfig, CacheRecord } from "./cache-config.js";
import { CACHE_CONFIG_MEDIA_TYPE, openCacheLocation, type CacheLocation, type CacheLocationSpec } from "./cache-location.js";
import type { RegistryAccessOptions } from "../registry/open-registry-client.js";
import type { StepComponents } from "./explain-miss.js";
import type { Worker } from "./types.js";

/** A cache imported with `--cache-from`: its records, and where their blobs are. */
export interface ImportedCache {
  location: CacheLocation;
  records: Map<Digest, CacheRecord>;
}

/**
 * Reads the cache config of each `--cache-from` location. One that cannot be read (no such
 * ref, registry down) gives a warning and is left out, as BuildKit does: the build goes on
 * without it.
 */
export async function readImportedCaches(specs: readonly CacheLocationSpec[], options: { registry?: RegistryAccessOptions; store: Store; onWarning: (message: string) => void }): Promise<ImportedCache[]> {
  const caches: ImportedCache[] = [];
  for (const spec of specs) {
    const name = spec.type === "registry" ? spec.ref : spec.dir;
    try {
      const location = await openCacheLocation(spec, options.registry ?? {});
      const index = await location.readIndex();
      const descriptor = index?.manifests.find((m) => m.mediaType === CACHE_CONFIG_MEDIA_TYPE);
      if (descriptor === undefined) {
        options.onWarning(`Cannot import the build cache from "${name}": it holds no tsbuild cache config`);
        continue;
      }
      await location.fetchBlob(descriptor, options.store.content);
      const config = JSON.parse((await options.store.content.read(descriptor.digest)).toString("utf8")) as CacheConfig;
      caches.push({ location, records: new Map(config.records.map((record) => [record.key, record])) });
    } catch (error) {
      options.onWarning(`Cannot import the build cache from "${name}": ${(error as Error).message}`);
    }
  }
  return caches;
}

/**
 * The cache index with imported caches behind it: a key the root lacks but an imported
 * cache has is fetched when the solver looks it up (top-down, so only what the build needs),
 * its layer applied on its parent's snapshot (the parent imported first, the same way), and
 * recorded like a step that ran here. Anything that goes wrong makes it a miss: the step runs.
 */
export class ImportingCacheIndex extends CacheIndex {
  readonly #worker: Worker;
  readonly #imported: ImportedCache[];
  readonly #pending = new Map<Digest, Promise<CacheEntry | undefined>>();
  readonly #onWarning: (message: string) => void;

  constructor(worker: Worker, imported: ImportedCache[], options: { onWarning: (message: string) => void }) {
    super(worker.store, worker.snapshotter);
    this.#worker = worker;
    this.#imported = imported;
    this.#onWarning = options.onWarning;
  }

  /** What this root holds, without importing. */
  lookupLocal(key: Digest): Promise<CacheEntry | undefined> {
    return super.lookup(key);
  }

  override async lookup(key: Digest): Promise<CacheEntry | undefined> {
    const local = await super.lookup(key);
    if (local !== undefined) return local;
    let pending = this.#pending.get(key);
    if (pending === undefined) {
      pending = this.#import(key);
      this.#pending.set(key, pending);
    }
    return pending;
  }

  async #import(key: Digest): Promise<CacheEntry | undefined> {
    const source = this.#imported.find((cache) => cache.records.has(key));
    if (source === undefined) return undefined;
    const record = source.records.get(key)!;
    try {
      let parent: string | undefined;
      if (record.parent !== undefined) {
        const entry = await this.lookup(record.parent);
        if (entry === undefined) return undefined;
        parent = entry.snapshot;
      } else if (record.base !== undefined) {
        const image = await this.#worker.images.unpack(record.base.ref, {});
        const chain = image.config.rootfs.diff_ids;
        if (chain.length !== record.base.chain.length || chain.some((diffId, i) => diffId !== record.base!.chain[i])) return undefined;
        parent = image.top;
      }
      const { content } = this.#worker.store;
      const descriptor = { mediaType: record.layer.mediaType, digest: record.layer.digest, size: record.layer.size };
      if (!(await content.has(descriptor.digest))) await source.location.fetchBlob(descriptor, content);
      const name = await this.#snapshotName(key);
      await this.#worker.snapshotter.apply(name, await content.openStream(descriptor.digest), {
        ...(parent === undefined ? {} : { parent }),
        expectedDiffId: record.layer.diffID,
      });
      const entry: CacheEntry = {
        key,
        snapshot: name,
        layer: { diffId: record.layer.diffID, descriptor, empty: record.layer.empty, ...(record.layer.epoch === undefined ? {} : { epoch: record.layer.epoch }) },
        created: record.created,
      };
      await this.put(entry, { name: record.created_by });
      return entry;
    } catch (error) {
      this.#onWarning(`Cannot import cached step ${record.created_by} from "${source.location.name}": ${(error as Error).message}`);
      return undefined;
    }
  }

  async #snapshotName(key: Digest): Promise<string> {
    const exists = await this.#worker.snapshotter.stat(key).then(
      () => true,
      (error: unknown) => {
        if (isTsbuildError(error, "NOT_FOUND")) return false;
        throw error;
      },
    );
    return exists ? digestOf(`${key}\n${randomBytes(16).toString("hex")}`) : key;
  }
}

/**
 * What an imported cache says a step's key was made of, by its portable slot
 * (`Dockerfile\0stage\0position`): the blob is fetched when a miss asks for it. Undefined
 * when no imported cache has the slot, or its blob cannot be read (only the explanation is lost).
 */
export async function importedStepHistory(caches: readonly ImportedCache[], slot: string, store: Store): Promise<StepComponents | undefined> {
  for (const cache of caches) {
    for (const record of cache.records.values()) {
      if (record.history?.slot !== slot) continue;
      try {
        const digest = record.history.components;
        if (!(await store.content.has(digest))) {
          const manifests = (await cache.location.readIndex())?.manifests ?? [];
          const descriptor = manifests.find((m) => m.digest === digest);
          if (descriptor === undefined) continue;
          await cache.location.fetchBlob(descriptor, store.content);
        }
        return JSON.parse((await store.content.read(digest)).toString("utf8")) as StepComponents;
      } catch {
        continue; // another cache may have it; without any, the miss just says less
      }
    }
  }
  return undefined;
}

/** The local-only lookup of a cache index: an importing one's `lookupLocal`, else `lookup`. */
export function lookupLocal(cache: CacheIndex, key: Digest): Promise<CacheEntry | undefined> {
  return cache instanceof ImportingCacheIndex ? cache.lookupLocal(key) : cache.lookup(key);
}
