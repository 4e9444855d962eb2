import { randomBytes } from "node:crypto";
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import type { ResourceLimits, SecretSource, SshSource } from "../executor/types.js";
import type { BuildGraph } from "../frontend/graph.js";
import type { Digest } from "../oci/digest.js";
import type { Lease } from "../store/ref-store.js";
import type { CacheIndex } from "../solver/cache-index.js";
import type { DigestCache } from "../solver/copy-sources.js";
import { exportChainOf } from "../solver/export-chain.js";
import { SharedViews } from "../solver/shared-views.js";
import { LeasedCache } from "../solver/leased-cache.js";
import { StageReads } from "../solver/ops/context-files.js";
import { graphOperations } from "../solver/ops/graph-operations.js";
import type { MissExplainer } from "../solver/operation.js";
import { schedule } from "../solver/scheduler.js";
import type { ProgressListener, StepReport, Worker } from "../solver/types.js";

export interface SolveBuildOptions {
  worker: Worker;
  cache: CacheIndex;
  /** Holds what this build reads and commits until cache records (and the image) hold it. */
  lease: Lease;
  /** Local context directories by name; `context` is the main build context. */
  contexts: Record<string, string>;
  secrets?: Record<string, SecretSource>;
  ssh?: Record<string, SshSource>;
  allowInsecure?: boolean;
  limits?: ResourceLimits;
  signal?: AbortSignal;
  onProgress?: ProgressListener;
  concurrency?: number;
  /** What each step was keyed by last time, so a miss can be explained. */
  explainer?: MissExplainer;
  digests?: DigestCache;
  /** Work out keys and what would run; run nothing. */
  dryRun?: boolean;
  /** The vertices to solve: each platform's output of a multi-platform build. Default the graph's output. */
  outputs?: readonly string[];
}

export interface SolvedGraph {
  /** The cache key of every vertex whose key was computed. */
  keys: Map<string, Digest>;
  /** Steps in the order they were reported. */
  steps: StepReport[];
  /** The committed snapshot each solved vertex gave this build (the exporter diffs these, not whatever the cache holds by then). */
  snapshots: Map<string, string>;
  /**
   * Settles when the layers diffed as their steps finished are stored and recorded; rejects
   * as a record written on time would have failed. The export waits for it inside its own
   * timed phase (not silently after the last step), and the build before its lease lets go.
   */
  layers: Promise<void>;
  /** Watches the tar bytes of those layers as they are made (LeasedCache.watchLayers), for the export's progress. */
  watchLayers: (watcher: (bytes: number) => void) => () => void;
  /**
   * Settles when the views the steps shared are unmounted and the downloads' and clones'
   * scratch directories removed, which happens while the export runs (nothing after the
   * steps reads them); rejects when a view would not unmount. The build waits for it before
   * its lease lets go.
   */
  released: Promise<void>;
}

/**
 * Solves a Dockerfile's build graph: its vertices become operations (solver/ops), the
 * scheduler runs them against the build cache (held by the build's lease), and misses are
 * explained against each step's last run. Downloads and clones live until `released` settles.
 */
export async function solveBuild(graph: BuildGraph, options: SolveBuildOptions): Promise<SolvedGraph> {
  const { worker, lease, cache } = options;
  const scratch: string[] = [];
  const views = new SharedViews(worker.snapshotter, worker.tempDir);
  const stageReads = new StageReads(views);
  const env = {
    views,
    stageReads,
    worker,
    lease,
    cache,
    contexts: options.contexts,
    epoch: graph.epoch,
    ...(options.secrets === undefined ? {} : { secrets: options.secrets }),
    ...(options.ssh === undefined ? {} : { ssh: options.ssh }),
    ...(options.allowInsecure === undefined ? {} : { allowInsecure: options.allowInsecure }),
    ...(options.limits === undefined ? {} : { limits: options.limits }),
    ...(options.digests === undefined ? {} : { digests: options.digests }),
    async scratchDir(prefix: string) {
      const dir = join(worker.tempDir, `${prefix}-${randomBytes(8).toString("hex")}`);
      scratch.push(dir);
      await mkdir(dir, { recursive: true });
      return dir;
    },
  };
  const outputs = options.outputs ?? [graph.output];
  // The image's RUN layers are diffed as their steps finish (solver/leased-cache.ts).
  const early = options.dryRun === true ? undefined : { vertices: imageLayersOf(graph, outputs), epoch: graph.epoch, ...(options.signal === undefined ? {} : { signal: options.signal }) };
  const leased = new LeasedCache(cache, lease, worker, early);
  let solvedGraph: SolvedGraph | undefined;
  try {
    const solved = await schedule({
      vertices: graphOperations(graph, env),
      output: outputs,
      cache: leased,
      ...(options.explainer === undefined ? {} : { explainer: options.explainer }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
      ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
      ...(options.dryRun === undefined ? {} : { dryRun: options.dryRun }),
    });
    const snapshots = new Map<string, string>();
    for (const [id, result] of solved.results) if (result.kind === "snapshot") snapshots.set(id, result.key);
    // Until the image holds them: a concurrent --no-cache build may replace the records of
    // the cached ones, and a gc then would see them unheld.
    await lease.hold({ snapshots: [...new Set(snapshots.values())] });
    const layers = leased.settled();
    layers.catch(() => undefined); // the caller awaits it
    const released = release();
    released.catch(() => undefined); // the caller awaits it
    solvedGraph = { keys: solved.keys, steps: solved.steps, snapshots, layers, watchLayers: (watcher) => leased.watchLayers(watcher), released };
    return solvedGraph;
  } finally {
    if (solvedGraph === undefined) {
      // After a failure: no diff may still read a snapshot once the build lets go of it. (The
      // diffs read snapshots, never the scratch directories.) A failed build reports its own
      // error, not a view's that would not unmount.
      await leased.settled().catch(() => undefined);
      await release().catch(() => undefined);
    }
  }

  /** Unmounts the shared views (after the stage reads still under way) and removes the scratch directories. */
  async function release(): Promise<void> {
    let unmounted: { error: unknown } | undefined;
    await stageReads.settle();
    await views.release().catch((error: unknown) => (unmounted = { error }));
    for (const dir of scratch) await rm(dir, { recursive: true, force: true });
    if (unmounted !== undefined) throw unmounted.error;
  }
}

/** The RUN and file steps whose layers the images of `outputs` have: each is diffed as soon as it is committed. */
function imageLayersOf(graph: BuildGraph, outputs: readonly string[]): Set<string> {
  const ids = new Set<string>();
  for (const output of outputs) for (const vertex of exportChainOf(graph, output).chain) ids.add(vertex.id);
  return ids;
}
