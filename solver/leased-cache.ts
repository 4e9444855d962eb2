import { isTsbuildError } from "../errors.js";
import type { Digest } from "../oci/digest.js";
import type { Lease } from "../store/ref-store.js";
import type { CacheEntry, CacheIndex } from "./cache-index.js";
import { lookupLocal } from "./cache-import.js";
import type { ResultCache, ScheduledVertex } from "./operation.js";
import { formatTime } from "./ops/step-environment.js";
import type { VertexResult, Worker } from "./types.js";

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

  constructor(cache: CacheIndex, lease: Lease, worker: Worker) {
    this.#cache = cache;
    this.#lease = lease;
    this.#worker = worker;
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
    for (const key of keys) await this.#cache.put({ key, snapshot: result.key, layer: result.layer, created }, { name: vertex.name });
    return result;
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
