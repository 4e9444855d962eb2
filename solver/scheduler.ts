import { availableParallelism } from "node:os";
import PQueue from "p-queue";
import { isTsbuildError, TsbuildError } from "../errors.js";
import { digestOf, type Digest } from "../oci/digest.js";
import { BuildFailure } from "./build-failure.js";
import { cancelledError } from "../util/cancelled-error.js";
import type { MissReason } from "./explain-miss.js";
import type { CacheMap, ExecuteContext, MissExplainer, OperationContext, ResultCache, ScheduledVertex } from "./operation.js";
import type { ProgressEvent, ProgressListener, StepReport } from "./types.js";

export interface ScheduleOptions<R> {
  /** Every vertex, inputs before the vertices that read them. */
  vertices: readonly ScheduledVertex<R>[];
  /** The vertex whose result the schedule is for, or several (one per platform of a multi-platform build), solved side by side. */
  output: string | readonly string[];
  cache: ResultCache<R>;
  /** Says why a step missed; without one, misses say nothing. */
  explainer?: MissExplainer;
  signal?: AbortSignal;
  onProgress?: ProgressListener;
  /** Operations running at once. Default: twice the core count, at least 4 (see DEFAULT_CONCURRENCY). */
  concurrency?: number;
  /** Compute keys and look them up, report what would run and why, and run nothing. */
  dryRun?: boolean;
}

export interface Schedule<R> {
  /** The cache key of every vertex whose key was computed. */
  keys: Map<string, Digest>;
  /** Steps in the order they were reported. */
  steps: StepReport[];
  /** The result of every vertex solved (in a dry run: none). */
  results: Map<string, R>;
}

/**
 * Solves the part of a graph of operations that its output needs, as BuildKit's solver
 * does, in fewer lines: a vertex's key comes from its operation's cache map over its
 * inputs' keys (computed lazily, each once, side by side); the output is solved top-down,
 * so a step whose key is in the cache is done without looking at its inputs, and a miss
 * solves its inputs, tries its content key, then runs on a queue. Steps with one key run
 * once. The first failure cancels the rest; the caller's signal cancels everything.
 *
 * It knows no Dockerfile and no kind of operation: those are `Operation`s.
 */
/**
 * Steps mostly wait (on a sandbox starting, a process, the disk, the network) rather than
 * compute, so independent stages go side by side beyond the core count, as BuildKit runs
 * them all: one step per core left the third of three stages waiting on a 2-core machine.
 */
const DEFAULT_CONCURRENCY = Math.max(4, availableParallelism() * 2);

export async function schedule<R>(options: ScheduleOptions<R>): Promise<Schedule<R>> {
  return new Scheduler(options).run();
}

class Scheduler<R> {
  readonly #options: ScheduleOptions<R>;
  readonly #vertices = new Map<string, ScheduledVertex<R>>();
  readonly #maps = new Map<string, Promise<CacheMap>>();
  readonly #keys = new Map<string, Digest>();
  /** For a vertex found by, or kept under, a content key (its own or its inputs'): that key, which its dependants build on. */
  readonly #effective = new Map<string, Digest>();
  readonly #byVertex = new Map<string, Promise<R>>();
  readonly #byKey = new Map<Digest, Promise<R>>();
  readonly #results = new Map<string, R>();
  readonly #steps: StepReport[] = [];
  readonly #stepNumbers = new Map<string, number>();
  readonly #reasons = new Map<string, MissReason>();
  readonly #ignoredBelow = new Map<string, boolean>();
  /** Miss explanations' records being written. */
  readonly #records: Promise<void>[] = [];
  readonly #queue: PQueue;
  readonly #abort = new AbortController();
  readonly #signal: AbortSignal;

  constructor(options: ScheduleOptions<R>) {
    this.#options = options;
    for (const vertex of options.vertices) this.#vertices.set(vertex.id, vertex);
    this.#queue = new PQueue({ concurrency: options.concurrency ?? DEFAULT_CONCURRENCY });
    this.#signal = options.signal === undefined ? this.#abort.signal : AbortSignal.any([options.signal, this.#abort.signal]);
  }

  async run(): Promise<Schedule<R>> {
    const outputs = typeof this.#options.output === "string" ? [this.#options.output] : this.#options.output;
    for (const output of outputs) if (!this.#vertices.has(output)) throw new TsbuildError("INTERNAL", `Build graph has no vertex "${output}"`);
    this.#emitPlanned(outputs);
    try {
      if (this.#options.dryRun) {
        const seen = new Set<string>();
        for (const output of outputs) await this.#plan(output, seen);
      } else {
        await Promise.all(outputs.map((output) => this.#solve(output)));
      }
    } catch (error) {
      this.#abort.abort(this.#options.signal?.reason);
      await this.#queue.onIdle();
      // Keys still being computed settle before the caller cleans up what they read.
      await Promise.allSettled(this.#maps.values());
      await Promise.all(this.#records);
      throw error;
    }
    await Promise.all(this.#records);
    return { keys: this.#keys, steps: this.#steps, results: this.#results };
  }

  /** Every step the output needs that is reported (all but quiet sources), in graph order, so a view can show a fixed total. */
  #emitPlanned(outputs: readonly string[]): void {
    const needed = new Set<string>();
    const visit = (id: string): void => {
      if (needed.has(id)) return;
      needed.add(id);
      for (const input of this.#vertex(id).inputs) visit(input);
    };
    for (const output of outputs) visit(output);
    const steps = this.#options.vertices.filter((v) => needed.has(v.id) && v.op.quiet !== true).map((v) => ({ vertex: v.id, name: v.name }));
    this.#emit({ type: "steps-planned", steps });
  }

  /** The vertex's cache map, computed once, after its inputs' (which are computed side by side). */
  #cacheMap(id: string): Promise<CacheMap> {
    let map = this.#maps.get(id);
    if (map === undefined) {
      const vertex = this.#vertex(id);
      map = (async () => {
        const inputMaps = await Promise.all(vertex.inputs.map((input) => this.#cacheMap(input)));
        const inputKeys = inputMaps.map((input) => input.key);
        try {
          const computed = await vertex.op.cacheMap({ ...this.#context(vertex), inputKeys, inputMaps, input: (index) => this.#solve(vertex.inputs[index]) });
          this.#keys.set(id, computed.key);
          return computed;
        } catch (error) {
          return this.#fail(vertex, error, 0, { beforeRun: true });
        }
      })();
      // Failures are handled by whoever awaits; this keeps an unawaited one from crashing the process.
      map.catch(() => undefined);
      this.#maps.set(id, map);
    }
    return map;
  }

  #solve(id: string): Promise<R> {
    const existing = this.#byVertex.get(id);
    if (existing !== undefined) return existing;
    const vertex = this.#vertex(id);
    const promise = (async () => {
      const { key } = await this.#cacheMap(id);
      const same = vertex.op.cached ? this.#byKey.get(key) : undefined;
      if (same !== undefined) {
        // An identical step elsewhere in the graph: its result serves both.
        const result = await same;
        this.#report(vertex, "cached", 0);
        return result;
      }
      const solving = this.#solveNew(vertex, key);
      if (vertex.op.cached) this.#byKey.set(key, solving);
      return solving;
    })();
    this.#byVertex.set(id, promise);
    promise.then(
      (result) => this.#results.set(id, result),
      () => undefined, // handled by whoever awaits
    );
    return promise;
  }

  async #solveNew(vertex: ScheduledVertex<R>, key: Digest): Promise<R> {
    const { op } = vertex;
    if (!op.cached) {
      const inputs = await Promise.all(vertex.inputs.map((id) => this.#solve(id)));
      if (op.quiet) return op.execute(this.#executeContext(vertex, key), inputs);
      return this.#enqueue(vertex, () => op.execute(this.#executeContext(vertex, key), inputs));
    }
    if (!vertex.ignoreCache) {
      const hit = await this.#lookup(vertex, key);
      if (hit !== undefined) {
        // --no-cache-filter: the named stages' steps run even under a cached step.
        if (this.#reachesIgnored(vertex.id)) await Promise.all(vertex.inputs.map((id) => this.#solve(id)));
        await this.#reportCachedBelow(vertex);
        this.#report(vertex, "cached", 0);
        return hit;
      }
    }
    // The explanation (a read of the step's last record) while the inputs are solved: on a
    // cold build every level of the graph misses, and one after the other they added up.
    const explained = this.#explain(vertex);
    const inputs = await Promise.all(vertex.inputs.map((id, index) => this.#solveInput(vertex, id, index))).finally(() => explained);
    // Second chances before running: the key made from what the inputs were found under,
    // then the content key (reading another stage's files costs more, so it comes last).
    const keys = [key];
    const linked = await this.#linkedKey(vertex);
    if (linked !== undefined) {
      keys.push(linked);
      const hit = await this.#secondChance(vertex, key, linked);
      if (hit !== undefined) return hit;
    }
    const content = await this.#contentKey(vertex, linked ?? key, inputs);
    if (content !== undefined) {
      keys.push(content);
      const hit = await this.#secondChance(vertex, key, content);
      if (hit !== undefined) return hit;
    }
    const result = await this.#enqueue(vertex, async () => this.#options.cache.save(keys, await op.execute(this.#executeContext(vertex, key), inputs), vertex));
    const components = (await this.#cacheMap(vertex.id)).components;
    if (components !== undefined && this.#options.explainer !== undefined) {
      // Written while the steps after this one run, and waited for before the schedule ends.
      // Losing the record costs only the next miss's explanation.
      this.#records.push(this.#options.explainer.record(vertex.id, components).catch(() => undefined));
    }
    return result;
  }

  /** Solves input `index` of a step that missed, telling its operation as soon as it is (`Operation.inputSolved`). */
  #solveInput(vertex: ScheduledVertex<R>, id: string, index: number): Promise<R> {
    const solving = this.#solve(id);
    const { op } = vertex;
    // Only a head start: a failure is reported by the step's own wait for its inputs, and by its content key.
    if (op.inputSolved !== undefined) solving.then((result) => op.inputSolved!(index, result)).catch(() => undefined);
    return solving;
  }

  /**
   * When inputs were found by (or kept under) a content key, the key this step has over
   * those: as BuildKit links a step to the record its input matched, so the steps after a
   * COPY --from served by its content are found too. Undefined when it is the first key.
   */
  async #linkedKey(vertex: ScheduledVertex<R>): Promise<Digest | undefined> {
    const effective = vertex.inputs.map((id) => this.#effective.get(id) ?? this.#keys.get(id)!);
    if (effective.every((inputKey, i) => inputKey === this.#keys.get(vertex.inputs[i]))) return undefined;
    const { key } = await this.#cacheMap(vertex.id);
    const inputMaps = await Promise.all(vertex.inputs.map((id) => this.#cacheMap(id)));
    try {
      const linked = await vertex.op.cacheMap({ ...this.#context(vertex), inputKeys: effective, inputMaps, input: (index) => this.#solve(vertex.inputs[index]) });
      return linked.key === key ? undefined : linked.key;
    } catch (error) {
      return this.#fail(vertex, error, 0);
    }
  }

  /** The operation's content key over its solved inputs (the inputs it does not read by content as `keyed` has them). */
  async #contentKey(vertex: ScheduledVertex<R>, keyed: Digest, inputs: readonly R[]): Promise<Digest | undefined> {
    if (vertex.op.contentKey === undefined) return undefined;
    try {
      return await vertex.op.contentKey(this.#executeContext(vertex, keyed), inputs);
    } catch (error) {
      return this.#fail(vertex, error, 0);
    }
  }

  /** Looks a second key up; a hit stands for the step (now kept under its first key too), and dependants build on that key. */
  async #secondChance(vertex: ScheduledVertex<R>, key: Digest, second: Digest): Promise<R | undefined> {
    this.#effective.set(vertex.id, second);
    const hit = vertex.ignoreCache ? undefined : await this.#lookup(vertex, second);
    if (hit === undefined) return undefined;
    this.#report(vertex, "cached", 0);
    return this.#options.cache.save([key], hit, vertex);
  }

  async #lookup(vertex: ScheduledVertex<R>, key: Digest): Promise<R | undefined> {
    try {
      return await this.#options.cache.lookup(key, vertex);
    } catch (error) {
      return this.#fail(vertex, error, 0);
    }
  }

  /** Dry run: the same walk as `#solve`, asking the cache only what it has, running nothing. */
  async #plan(id: string, seen: Set<string>): Promise<void> {
    if (seen.has(id)) return;
    seen.add(id);
    const vertex = this.#vertex(id);
    const { key } = await this.#cacheMap(id);
    if (vertex.op.cached && !vertex.ignoreCache && (await this.#options.cache.peek(key, vertex)) !== undefined) {
      if (!this.#reachesIgnored(id)) {
        await this.#reportCachedBelow(vertex);
        this.#report(vertex, "cached", 0);
        return;
      }
    } else if (vertex.op.cached) {
      await this.#explain(vertex);
    }
    for (const input of vertex.inputs) await this.#plan(input, seen);
    if (!vertex.op.cached) return;
    const reason = this.#reasons.get(id);
    this.#steps.push({ vertex: id, name: vertex.name, status: reason === undefined ? "cached" : "would-run", durationMs: 0, cacheKey: key, ...(reason === undefined ? {} : { missReason: reason }) });
  }

  async #enqueue(vertex: ScheduledVertex<R>, work: () => Promise<R>): Promise<R> {
    return (await this.#queue.add(() => this.#timed(vertex, work))) as R;
  }

  /**
   * The steps below a cached step are never looked at; those the cache holds are reported
   * cached too (in graph order, before it), so a no-op rebuild lists every step, in order.
   */
  async #reportCachedBelow(vertex: ScheduledVertex<R>): Promise<void> {
    const below = new Set<string>();
    const visit = (id: string) => {
      for (const input of this.#vertex(id).inputs) {
        if (below.has(input)) continue;
        below.add(input);
        visit(input);
      }
    };
    visit(vertex.id);
    const candidates = this.#options.vertices.filter((candidate) => below.has(candidate.id) && candidate.op.cached && !candidate.ignoreCache && !this.#byVertex.has(candidate.id));
    // Looked up side by side (the cache's holds of them then share their writes), reported in
    // graph order. What is at hand only: an imported step below a cached one is fetched only
    // if something needs it. Every lookup settles before a failure goes on.
    const outcomes = await Promise.allSettled(candidates.map(async (candidate) => this.#options.cache.peek((await this.#cacheMap(candidate.id)).key, candidate)));
    for (const outcome of outcomes) if (outcome.status === "rejected") throw outcome.reason;
    for (const [i, candidate] of candidates.entries()) {
      const held = (outcomes[i] as PromiseFulfilledResult<R | undefined>).value;
      // Checked again after the lookup: another branch may have started on it meanwhile.
      if (held === undefined || this.#byVertex.has(candidate.id)) continue;
      this.#byVertex.set(candidate.id, Promise.resolve(held));
      this.#results.set(candidate.id, held);
      this.#report(candidate, "cached", 0);
    }
  }

  /** True when a step below `id` (not `id` itself) must run whatever the cache says. */
  #reachesIgnored(id: string): boolean {
    const known = this.#ignoredBelow.get(id);
    if (known !== undefined) return known;
    const result = this.#vertex(id).inputs.some((input) => {
      const vertex = this.#vertex(input);
      return (vertex.op.cached && vertex.ignoreCache) || this.#reachesIgnored(input);
    });
    this.#ignoredBelow.set(id, result);
    return result;
  }

  async #explain(vertex: ScheduledVertex<R>): Promise<void> {
    const { explainer } = this.#options;
    if (explainer === undefined) return;
    const { components } = await this.#cacheMap(vertex.id);
    // Without an explanation the step still runs; the reason is only for people.
    const reason = await explainer.explain(vertex.id, components, { ignoreCache: vertex.ignoreCache }).catch(() => undefined);
    if (reason !== undefined) this.#reasons.set(vertex.id, reason);
  }

  async #timed(vertex: ScheduledVertex<R>, work: () => Promise<R>): Promise<R> {
    this.#checkCancelled();
    const started = performance.now();
    const reason = this.#reasons.get(vertex.id);
    this.#emit({ type: "vertex-started", vertex: vertex.id, name: vertex.name, step: this.#stepOf(vertex), location: vertex.location, ...(reason === undefined ? {} : { missReason: reason }) });
    try {
      const result = await work();
      this.#report(vertex, "done", elapsed(started));
      return result;
    } catch (error) {
      return this.#fail(vertex, error, elapsed(started));
    }
  }

  #checkCancelled(): void {
    if (this.#signal.aborted) throw cancelledError("The build was cancelled", this.#options.signal);
  }

  #fail(vertex: ScheduledVertex<R>, error: unknown, durationMs: number, options: { beforeRun?: boolean } = {}): never {
    if (error instanceof BuildFailure) throw error;
    const byCaller = this.#options.signal?.aborted === true;
    // After another step failed, a step cancelled by it (or a key that was being worked out
    // side by side) is fallout, not news; a step that failed on its own is still shown.
    const fallout =
      !byCaller && this.#abort.signal.aborted && (options.beforeRun === true || isTsbuildError(error, "CANCELLED") || !(error instanceof TsbuildError));
    // The caller's abort: whatever the step failed with, the build was cancelled, for the caller's reason.
    const cause = byCaller ? cancelledError(isTsbuildError(error, "CANCELLED") ? error.message : "The build was cancelled", this.#options.signal, error) : error;
    const failure = new BuildFailure({ vertex: vertex.id, name: vertex.name, location: vertex.location }, cause);
    if (!fallout) {
      // A step that failed before it ran (a missing COPY source) is still shown as a step.
      if (!this.#stepNumbers.has(vertex.id)) {
        this.#emit({ type: "vertex-started", vertex: vertex.id, name: vertex.name, step: this.#stepOf(vertex), location: vertex.location });
      }
      this.#steps.push({ vertex: vertex.id, name: vertex.name, status: "failed", durationMs, cacheKey: this.#keys.get(vertex.id) ?? digestOf(vertex.id) });
      this.#emit({ type: "vertex-failed", vertex: vertex.id, name: vertex.name, step: this.#stepOf(vertex), error: failure, durationMs });
    }
    this.#abort.abort();
    throw failure;
  }

  #report(vertex: ScheduledVertex<R>, status: "cached" | "done", durationMs: number): void {
    const reason = status === "done" ? this.#reasons.get(vertex.id) : undefined;
    this.#steps.push({ vertex: vertex.id, name: vertex.name, status, durationMs, cacheKey: this.#keys.get(vertex.id)!, ...(reason === undefined ? {} : { missReason: reason }) });
    const step = this.#stepOf(vertex);
    if (status === "cached") this.#emit({ type: "vertex-cached", vertex: vertex.id, name: vertex.name, step });
    else this.#emit({ type: "vertex-completed", vertex: vertex.id, name: vertex.name, step, durationMs });
  }

  #context(vertex: ScheduledVertex<R>): OperationContext {
    return {
      signal: this.#signal,
      progress: (progress) => this.#emit({ type: "vertex-progress", vertex: vertex.id, name: vertex.name, step: this.#stepOf(vertex), progress }),
      log: (stream, data) => this.#emit({ type: "vertex-log", vertex: vertex.id, name: vertex.name, step: this.#stepOf(vertex), stream, data }),
    };
  }

  #executeContext(vertex: ScheduledVertex<R>, key: Digest): ExecuteContext {
    return { ...this.#context(vertex), key };
  }

  #vertex(id: string): ScheduledVertex<R> {
    const vertex = this.#vertices.get(id);
    if (vertex === undefined) throw new TsbuildError("INTERNAL", `Build graph has no vertex "${id}"`);
    return vertex;
  }

  #stepOf(vertex: ScheduledVertex<R>): number {
    let step = this.#stepNumbers.get(vertex.id);
    if (step === undefined) {
      step = this.#stepNumbers.size + 1;
      this.#stepNumbers.set(vertex.id, step);
    }
    return step;
  }

  #emit(event: ProgressEvent): void {
    try {
      this.#options.onProgress?.(event);
    } catch {
      // A listener's bug must not break the build.
    }
  }
}

/** Whole milliseconds since `started` (a `performance.now()`). */
function elapsed(started: number): number {
  return Math.round(performance.now() - started);
}
