import type { VertexLocation } from "../frontend/graph.js";
import type { Digest } from "../oci/digest.js";
import type { StepComponents } from "./explain-miss.js";
import type { MissReason } from "./explain-miss.js";
import type { OperationProgress } from "./types.js";

/**
 * The scheduler's vocabulary, after BuildKit's `Op` (solver/types.go: CacheMap, Exec): an
 * operation says what its cache key is and how to produce its result. The scheduler knows
 * nothing else about it: not its kind, not the Dockerfile it came from, not what a result is.
 */

/** What every call on an operation gets. */
export interface OperationContext {
  /** Aborted when the build is cancelled or another step failed. */
  signal: AbortSignal;
  /** Reports progress of a long part of the work (bytes pulled, a layer unpacked). */
  progress(update: OperationProgress): void;
  /** A process's output, as the step's log. */
  log(stream: "stdout" | "stderr", data: Buffer): void;
}

export interface CacheMapContext extends OperationContext {
  /** The cache keys of the vertex's inputs, in order. */
  inputKeys: readonly Digest[];
  /** The inputs' whole cache maps, in order (a source's `contents`, say). */
  inputMaps: readonly CacheMap[];
  /**
   * The result of input `index`, solved now. For inputs that are cheap to produce (a local
   * context directory) whose contents go into the key; never for a build step's output.
   */
  input(index: number): Promise<unknown>;
}

export interface ExecuteContext extends OperationContext {
  /** The vertex's cache key. */
  key: Digest;
}

/** What an operation's cache key is made of. */
export interface CacheMap {
  key: Digest;
  /** What went into the key, kept between builds so a later miss can say what changed. */
  components?: StepComponents;
  /**
   * For a source whose key stands for content (a download): a line per file it gives, in
   * the form of a context file's, so a step reading it can say which file changed.
   */
  contents?: string[];
}

/** One operation of the graph: a build step (cached) or a source (produced each build). */
export interface Operation<R> {
  /**
   * True for build steps: their result is looked up in the cache by key (and saved there
   * after they run), and each is reported. Sources (an image, a context, a download) are
   * produced whenever a step needs them.
   */
  readonly cached: boolean;
  /** A source with nothing worth reporting (scratch, a local directory): no events, no queue slot. */
  readonly quiet?: boolean;
  cacheMap(context: CacheMapContext): Promise<CacheMap>;
  /**
   * BuildKit's second ("slow") key: after the first key missed and the inputs are solved, a
   * key over the content the operation reads from them, so an input that rebuilt to the same
   * files does not make this step run. Undefined: no such key.
   */
  contentKey?(context: ExecuteContext, inputs: readonly R[]): Promise<Digest | undefined>;
  /**
   * Input `index` of a step that missed is solved (its other inputs may not be yet): the
   * operation may start reading what its content key will read of it. Only a head start:
   * the content key reads it (again, or from what was started) and reports any failure.
   */
  inputSolved?(index: number, result: R): void;
  execute(context: ExecuteContext, inputs: readonly R[]): Promise<R>;
}

/** A vertex as the scheduler sees it. */
export interface ScheduledVertex<R> {
  id: string;
  /** Its display name: `[build 2/5] RUN make`. */
  name: string;
  location: VertexLocation | undefined;
  /** Ids of the vertices it reads, in its operation's order. */
  inputs: readonly string[];
  op: Operation<R>;
  /** Run it even when the cache has its key (`--no-cache`). */
  ignoreCache: boolean;
}

/** Where results of cached operations are found and kept. */
export interface ResultCache<R> {
  /** The result kept under `key`, fetched from an imported cache if need be. */
  lookup(key: Digest, vertex: ScheduledVertex<R>): Promise<R | undefined>;
  /** Only what is at hand, nothing fetched: for steps below a cached one, which nothing needs. */
  peek(key: Digest, vertex: ScheduledVertex<R>): Promise<R | undefined>;
  /** Keeps a step's result under its keys (the first is its own; others are content keys). */
  save(keys: readonly Digest[], result: R, vertex: ScheduledVertex<R>): Promise<R>;
}

/** Says why a step missed the cache, from what its key was made of the last time. */
export interface MissExplainer {
  explain(vertexId: string, components: StepComponents | undefined, options: { ignoreCache: boolean }): Promise<MissReason | undefined>;
  /** Remembers what a step that ran was keyed by. */
  record(vertexId: string, components: StepComponents): Promise<void>;
}
