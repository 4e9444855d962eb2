import { isTsbuildError } from "../errors.js";
import type { Digest } from "../oci/digest.js";
import type { Snapshotter } from "../snapshotter/types.js";
import type { Store } from "../store/store.js";
import type { LayerRecord } from "./types.js";

/** The ref kind of build cache records (`prune({ cache: true })` removes them). */
export const CACHE_REF_KIND = "cache";
const SNAPSHOT_LABEL = "tsbuild.snapshot";
const LAYER_LABEL = "tsbuild.layer";
const NAME_LABEL = "tsbuild.vertex";
const CREATED_LABEL = "tsbuild.created";

/** What the cache knows about one key. */
export interface CacheEntry {
  key: Digest;
  /** The committed snapshot holding the vertex's output. */
  snapshot: string;
  /** Its layer (the diff against its parent), once an export needed it. */
  layer: LayerRecord | undefined;
  /** When the step ran (RFC 3339): its history entry's date, so a cached rebuild gives the same image. */
  created: string;
}

/**
 * Cache key → committed snapshot (+ layer blob), kept as `cache` ref records of the store,
 * so GC never collects what a record holds and `prune` can drop the records. A record whose
 * snapshot is gone (removed by hand, a crashed prune) is a miss, not an error.
 */
export class CacheIndex {
  readonly #store: Store;
  readonly #snapshotter: Snapshotter;

  constructor(store: Store, snapshotter: Snapshotter) {
    this.#store = store;
    this.#snapshotter = snapshotter;
  }

  async lookup(key: Digest): Promise<CacheEntry | undefined> {
    const record = await this.#store.refs.get(CACHE_REF_KIND, key);
    const snapshot = record?.labels?.[SNAPSHOT_LABEL];
    if (record === undefined || snapshot === undefined) return undefined;
    try {
      if ((await this.#snapshotter.stat(snapshot)).kind !== "committed") return undefined;
    } catch (error) {
      if (isTsbuildError(error, "NOT_FOUND")) return undefined;
      throw error;
    }
    let layer: LayerRecord | undefined;
    const text = record.labels?.[LAYER_LABEL];
    if (text !== undefined) {
      const parsed = JSON.parse(text) as LayerRecord;
      if (await this.#store.content.has(parsed.descriptor.digest)) layer = parsed;
    }
    return { key, snapshot, layer, created: record.labels?.[CREATED_LABEL] ?? record.createdAt };
  }

  async put(entry: CacheEntry, options: { name: string }): Promise<void> {
    const labels: Record<string, string> = { [SNAPSHOT_LABEL]: entry.snapshot, [NAME_LABEL]: options.name, [CREATED_LABEL]: entry.created };
    if (entry.layer !== undefined) labels[LAYER_LABEL] = JSON.stringify(entry.layer);
    await this.#store.refs.put(CACHE_REF_KIND, entry.key, {
      snapshots: [entry.snapshot],
      blobs: entry.layer === undefined || entry.layer.empty ? [] : [entry.layer.descriptor.digest],
      labels,
      durable: false, // a cache: lost in a power cut, the step runs again
    });
  }
}
