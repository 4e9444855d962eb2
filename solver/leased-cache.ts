import { isTsbuildError } from "../errors.js";
import type { Digest } from "../oci/digest.js";
import type { Lease } from "../store/ref-store.js";
import type { CacheEntry, CacheIndex } from "./cache-index.js";
import { lookupLocal } from "./cache-import.js";
import { diffLayer } from "./diff-layer.js";
import type { ResultCache, ScheduledVertex } from "./operation.js";
import { formatTime } from "./ops/step-environment.js";
import type { LayerRecord, VertexResult, Worker } from "./types.js";

export interface EarlyLayers {
  /** The vertices whose layers the image will have (the output's chain of RUN and file steps). */
  vertices: ReadonlySet<string>;
  /** SOURCE_DATE_EPOCH, as the export will clamp the layers. */
  epoch?: number;
  /** The build's: once it aborts, nothing more is diffed. */
  signal?: AbortSignal;
}

/**
 * The build cache as the scheduler sees it: cache records of committed snapshots. A hit is
 * held by the build's lease before it is used, then checked again, so a `prune` or `rmi`
 * running meanwhile may drop the record but never the snapshot (or layer) the build is
 * about to build on; one that went before the lease took it is a miss, and the step runs.
 */
export class LeasedCache implements ResultCache<VertexResult> {
  readonly #cache: CacheIndex;
  readonly #lease: Lease;
  readonly #worker: Worker;
  readonly #early: EarlyLayers | undefined;
  /** Layers being diffed, one after another, and their records written. */
  #pending: Promise<void> = Promise.resolve();
  /** Records of steps without an early layer, being written. */
  readonly #records: Array<Promise<void>> = [];
  #failure: { error: unknown } | undefined;
  /** Tar bytes of the layers diffed so far, and of the one being diffed. */
  #diffedBytes = 0;
  #currentBytes = 0;
  readonly #watchers = new Set<(bytes: number) => void>();

  constructor(cache: CacheIndex, lease: Lease, worker: Worker, early?: EarlyLayers) {
    this.#cache = cache;
    this.#lease = lease;
    this.#worker = worker;
    this.#early = early;
  }

  async lookup(key: Digest): Promise<VertexResult | undefined> {
    return this.#held(await this.#cache.lookup(key));
  }

  async peek(key: Digest): Promise<VertexResult | undefined> {
    return this.#held(await lookupLocal(this.#cache, key));
  }

  async save(keys: readonly Digest[], result: VertexResult, vertex: ScheduledVertex<VertexResult>): Promise<VertexResult> {
    // An empty tree (an empty COPY --link on scratch) has no snapshot to keep: it is made again.
    if (result.kind !== "snapshot") return result;
    const created = result.created ?? formatTime(new Date());
    if (result.layer === undefined && this.#early?.vertices.has(vertex.id) === true) {
      // The image will need this step's layer: diffed now, while the steps after it run,
      // instead of one after another after the last step, and the record written once, with it.
      const snapshot = result.key;
      this.#pending = this.#pending
        .then(async () => this.#put(keys, { snapshot, layer: await this.#diff(snapshot), created }, vertex.name))
        .catch((error: unknown) => {
          // A record written late fails the build (at `settled`) as one written on time would.
          this.#failure ??= { error };
        });
      return result;
    }
    // Nothing in this build reads the record (steps share results by key in the scheduler,
    // and the export waits for `settled`): it is written while the steps after this one run.
    const entry = { snapshot: result.key, layer: result.layer, created };
    this.#records.push(
      this.#put(keys, entry, vertex.name).catch((error: unknown) => {
        this.#failure ??= { error };
      }),
    );
    return result;
  }

  /**
   * Waits for the layers still being diffed and the records still being written. Before the
   * build's lease lets go of the snapshots, and before the export, which then finds each
   * layer in its record.
   */
  async settled(): Promise<void> {
    await Promise.all([this.#pending, ...this.#records]);
    if (this.#failure !== undefined) throw this.#failure.error;
  }

  /**
   * Calls `watcher` with the tar bytes of the layers diffed so far (done and under way), now
   * and as they grow, until the returned function is called: the export's "bytes done".
   */
  watchLayers(watcher: (bytes: number) => void): () => void {
    this.#watchers.add(watcher);
    watcher(this.#diffedBytes + this.#currentBytes);
    return () => this.#watchers.delete(watcher);
  }

  #progress(bytes: number): void {
    this.#currentBytes = bytes;
    for (const watcher of this.#watchers) watcher(this.#diffedBytes + bytes);
  }

  async #diff(snapshot: string): Promise<LayerRecord | undefined> {
    if (this.#failure !== undefined || this.#early?.signal?.aborted === true) return undefined;
    const epoch = this.#early?.epoch;
    const signal = this.#early?.signal;
    const onProgress = (bytes: number) => this.#progress(bytes);
    try {
      return await diffLayer(this.#worker, snapshot, { ...(epoch === undefined ? {} : { epoch }), ...(signal === undefined ? {} : { signal }), onProgress });
    } catch {
      // Not fatal here: the export diffs the snapshot again and reports what is wrong then.
      return undefined;
    } finally {
      this.#diffedBytes += this.#currentBytes;
      this.#currentBytes = 0;
    }
  }

  async #put(keys: readonly Digest[], entry: Omit<CacheEntry, "key">, name: string): Promise<void> {
    await Promise.all(keys.map((key) => this.#cache.put({ key, ...entry }, { name })));
  }

  async #held(entry: CacheEntry | undefined): Promise<VertexResult | undefined> {
    if (entry === undefined) return undefined;
    const blobs = entry.layer === undefined || entry.layer.empty ? [] : [entry.layer.descriptor.digest];
    await this.#lease.hold({ snapshots: [entry.snapshot], blobs });
    // A collector works under the store lock, as the lease's write does: it either saw the
    // lease, or finished before it, and then the snapshot is gone by now.
    const present = await this.#worker.snapshotter.stat(entry.snapshot).then(
      (info) => info.kind === "committed",
      (error: unknown) => {
        if (isTsbuildError(error, "NOT_FOUND")) return false;
        throw error;
      },
    );
    if (!present) return undefined;
    // The record's layer and date go with the result, so a step served by its content key keeps them.
    return { kind: "snapshot", key: entry.snapshot, ...(entry.layer === undefined ? {} : { layer: entry.layer }), created: entry.created };
  }
}
