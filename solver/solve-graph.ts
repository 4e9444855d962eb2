import { randomBytes } from "node:crypto";
import { rm } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import PQueue from "p-queue";
import { isTsbuildError, TsbuildError } from "../errors.js";
import type { ResourceLimits, SecretSource, SshSource } from "../executor/types.js";
import type { BuildGraph, CopyAction, ExecDefinition, FileDefinition, Vertex } from "../frontend/graph.js";
import { digestOf, type Digest } from "../oci/digest.js";
import type { Lease } from "../store/ref-store.js";
import { applyFileActions, type CopySource } from "./apply-file-actions.js";
import { BuildFailure } from "./build-failure.js";
import type { CacheIndex } from "./cache-index.js";
import { lookupLocal } from "./cache-import.js";
import { canonicalJson, computeCacheKey } from "./cache-key.js";
import { checksumLines, collectCopySources, sourceLines, type DigestCache, type SourceMatch } from "./copy-sources.js";
import { cloneGit } from "./clone-git.js";
import { diffLayer } from "./diff-layer.js";
import { downloadUrl } from "./download-url.js";
import { explainMiss, type StepComponents } from "./explain-miss.js";
import { StepHistory } from "./step-history.js";
import { rootInputOf } from "./root-input.js";
import { runExec } from "./run-exec.js";
import { SnapshotMounts } from "./snapshot-mounts.js";
import type { ProgressEvent, ProgressListener, StepStatus, VertexResult, Worker } from "./types.js";

export interface SolveGraphOptions {
  worker: Worker;
  cache: CacheIndex;
  /** Holds what this build commits until cache records (and the image) hold it. */
  lease: Lease;
  /** Local context directories by name; `context` is the main build context. */
  contexts: Record<string, string>;
  secrets?: Record<string, SecretSource>;
  /** `--ssh`: agents for RUN --mount=type=ssh, by id. */
  ssh?: Record<string, SshSource>;
  /** `--allow security.insecure`: RUN --security=insecure may run. */
  allowInsecure?: boolean;
  /** Resource limits of every RUN's sandbox. */
  limits?: ResourceLimits;
  signal?: AbortSignal;
  onProgress?: ProgressListener;
  /** Steps running at once. Default: the core count. */
  concurrency?: number;
  /**
   * Names this build's steps across builds (context and Dockerfile paths, say), so a cache
   * miss can be explained against the step's last run. Without it misses say nothing.
   */
  historyScope?: string;
  /** Context file digests remembered from earlier builds. */
  digests?: DigestCache;
}

/** One step of the build as the result reports it. */
export interface StepReport {
  vertex: string;
  name: string;
  status: StepStatus;
  /** 0 for cached steps. */
  durationMs: number;
  cacheKey: Digest;
  /** For a step that ran: why the cache could not serve it. */
  missReason?: string;
}

export interface SolvedGraph {
  /** The cache key of every vertex the output needs. */
  keys: Map<string, Digest>;
  /** Steps in the order they were reported. */
  steps: StepReport[];
  /** The committed snapshot each solved vertex gave this build (the exporter diffs these, not whatever the cache holds by then). */
  snapshots: Map<string, string>;
}

/**
 * Executes the part of a build graph the output needs. First every needed vertex gets its
 * cache key (definition, input keys, checksums of the context files it reads), in
 * topological order; then the output is solved top-down: a vertex whose key is in the cache
 * index is done without looking at its inputs, others solve their inputs and run on a
 * p-queue. Vertices with one key run once; a failure aborts the steps still running.
 */
export async function solveGraph(graph: BuildGraph, options: SolveGraphOptions): Promise<SolvedGraph> {
  return new GraphSolver(graph, options).solve();
}

class GraphSolver {
  readonly #graph: BuildGraph;
  readonly #options: SolveGraphOptions;
  readonly #vertices = new Map<string, Vertex>();
  readonly #keys = new Map<string, Digest>();
  readonly #collected = new Map<string, Map<number, SourceMatch[]>>();
  readonly #contextResults = new Map<string, VertexResult>();
  readonly #byVertex = new Map<string, Promise<VertexResult>>();
  readonly #byKey = new Map<Digest, Promise<VertexResult>>();
  readonly #steps: StepReport[] = [];
  readonly #stepNumbers = new Map<string, number>();
  readonly #queue: PQueue;
  readonly #abort = new AbortController();
  readonly #signal: AbortSignal;
  readonly #components = new Map<string, StepComponents>();
  readonly #slots = new Map<string, string>();
  readonly #reasons = new Map<string, string>();
  readonly #ignoredBelow = new Map<string, boolean>();
  readonly #downloads: string[] = [];
  readonly #linkKeys = new Map<string, Digest>();
  readonly #history: StepHistory | undefined;

  constructor(graph: BuildGraph, options: SolveGraphOptions) {
    this.#graph = graph;
    this.#options = options;
    for (const vertex of graph.vertices) this.#vertices.set(vertex.id, vertex);
    this.#queue = new PQueue({ concurrency: options.concurrency ?? availableParallelism() });
    this.#signal = options.signal === undefined ? this.#abort.signal : AbortSignal.any([options.signal, this.#abort.signal]);
    if (options.historyScope !== undefined) {
      this.#history = new StepHistory(options.worker.store);
      const ordinals = new Map<string, number>();
      for (const vertex of graph.vertices) {
        if (!isStep(vertex)) continue;
        const n = ordinals.get(vertex.stage ?? "") ?? 0;
        ordinals.set(vertex.stage ?? "", n + 1);
        this.#slots.set(vertex.id, `${options.historyScope}\0${vertex.stage ?? ""}\0${n}`);
      }
    }
  }

  async solve(): Promise<SolvedGraph> {
    try {
      return await this.#solve();
    } finally {
      for (const dir of this.#downloads) await rm(dir, { recursive: true, force: true });
    }
  }

  async #solve(): Promise<SolvedGraph> {
    const needed = this.#needed();
    for (const vertex of this.#graph.vertices) {
      if (needed.has(vertex.id)) await this.#computeKey(vertex);
    }
    try {
      await this.#solveVertex(this.#graph.output);
    } catch (error) {
      this.#abort.abort();
      await this.#queue.onIdle();
      throw error;
    }
    const snapshots = new Map<string, string>();
    for (const [id, promise] of this.#byVertex) {
      const result = await promise.catch(() => undefined);
      if (result?.kind === "snapshot") snapshots.set(id, result.key);
    }
    // Until the image holds them: a concurrent --no-cache build may replace the records of
    // the cached ones, and a gc then would see them unheld.
    await this.#options.lease.hold({ snapshots: [...new Set(snapshots.values())] });
    return { keys: this.#keys, steps: this.#steps, snapshots };
  }

  /** The output and every vertex it reads, transitively. */
  #needed(): Set<string> {
    const needed = new Set<string>();
    const visit = (id: string) => {
      if (needed.has(id)) return;
      const vertex = this.#vertices.get(id);
      if (vertex === undefined) throw new TsbuildError("INTERNAL", `Build graph has no vertex "${id}"`);
      needed.add(id);
      vertex.inputs.forEach(visit);
    };
    visit(this.#graph.output);
    return needed;
  }

  async #computeKey(vertex: Vertex): Promise<void> {
    const definition = vertex.definition;
    const inputs = vertex.inputs.map((id) => this.#keys.get(id)!);
    const checksums: string[] = [];
    const files: string[][] = [];
    try {
      if (definition.op === "source" && definition.kind === "local") {
        const path = this.#options.contexts[definition.name];
        if (path === undefined) throw new TsbuildError("USAGE", `Cannot find build context "${definition.name}"`, { hint: `Pass it with --build-context ${definition.name}=DIR` });
        this.#contextResults.set(vertex.id, { kind: "directory", path, exclude: definition.excludePatterns });
      } else if (definition.op === "source" && definition.kind === "http") {
        // Downloaded now: the ADD that copies it checksums the file like a context file.
        const dir = join(this.#options.worker.tempDir, `http-${randomBytes(8).toString("hex")}`);
        this.#downloads.push(dir);
        await downloadUrl(definition.url, dir, definition.filename, {
          ...(definition.checksum === undefined ? {} : { checksum: definition.checksum }),
          signal: this.#signal,
        });
        this.#contextResults.set(vertex.id, { kind: "directory", path: dir, exclude: [] });
      } else if (definition.op === "source" && definition.kind === "git") {
        const dir = join(this.#options.worker.tempDir, `git-${randomBytes(8).toString("hex")}`);
        this.#downloads.push(dir);
        const path = await cloneGit(definition.remote, dir, { ref: definition.ref, subdir: definition.subdir, keepGitDir: definition.keepGitDir, checksum: definition.checksum, signal: this.#signal });
        this.#contextResults.set(vertex.id, { kind: "directory", path, exclude: [] });
      } else if (definition.op === "file") {
        const collected = new Map<number, SourceMatch[]>();
        for (const [index, action] of definition.actions.entries()) {
          if (action.action !== "copy") continue;
          const context = this.#contextResults.get(vertex.inputs[action.source]);
          if (context?.kind !== "directory") continue;
          const matches = await collectCopySources(context.path, action, { kind: "context", ignore: context.exclude });
          collected.set(index, matches);
          const lines = await sourceLines(matches, this.#options.digests);
          files.push(lines);
          checksums.push(`${index}:${checksumLines(lines)}`);
        }
        this.#collected.set(vertex.id, collected);
      } else if (definition.op === "exec") {
        for (const [index, mount] of definition.mounts.entries()) {
          if (mount.type !== "bind" && mount.type !== "layer") continue;
          const context = this.#contextResults.get(vertex.inputs[mount.input]);
          if (context?.kind !== "directory") continue;
          const matches = await collectCopySources(context.path, selectorAction(mount.selector), { kind: "context", ignore: context.exclude });
          const lines = await sourceLines(matches, this.#options.digests);
          files.push(lines);
          checksums.push(`${index}:${checksumLines(lines)}`);
        }
      }
    } catch (error) {
      this.#fail(vertex, error, 0);
    }
    if (definition.op === "file" && definition.link) {
      // COPY --link: the copied files form a layer of their own, keyed without the base, so
      // a changed base only re-applies that layer; the step's key still covers the base.
      const linkKey = computeCacheKey(definition, { inputs: ["link", ...inputs.slice(1)], checksums });
      this.#linkKeys.set(vertex.id, linkKey);
      this.#keys.set(vertex.id, digestOf(`${linkKey}\n${inputs[0]}`));
    } else {
      this.#keys.set(vertex.id, computeCacheKey(definition, { inputs, checksums }));
    }
    if (isStep(vertex)) {
      const inputNames = vertex.inputs.map((id) => this.#vertices.get(id)?.name ?? id);
      this.#components.set(vertex.id, { definition: canonicalJson(definition), inputs, inputNames, files });
    }
  }

  #solveVertex(id: string): Promise<VertexResult> {
    const existing = this.#byVertex.get(id);
    if (existing !== undefined) return existing;
    const vertex = this.#vertices.get(id)!;
    const key = this.#keys.get(id)!;
    let promise: Promise<VertexResult>;
    const same = isStep(vertex) ? this.#byKey.get(key) : undefined;
    if (same !== undefined) {
      // An identical step elsewhere in the graph: its result serves both.
      promise = same.then((result) => {
        this.#report(vertex, "cached", 0);
        return result;
      });
    } else {
      promise = this.#solveNew(vertex, key);
      if (isStep(vertex)) this.#byKey.set(key, promise);
    }
    this.#byVertex.set(id, promise);
    // Failures are handled by whoever awaits; this keeps an unawaited sibling from crashing the process.
    promise.catch(() => undefined);
    return promise;
  }

  async #solveNew(vertex: Vertex, key: Digest): Promise<VertexResult> {
    const definition = vertex.definition;
    if (definition.op === "source") {
      if (definition.kind === "scratch") return { kind: "empty" };
      if (definition.kind !== "image") return this.#contextResults.get(vertex.id)!;
      return this.#queue.add(() =>
        this.#timed(vertex, async () => {
          const image = await this.#options.worker.images.unpack(definition.ref, { signal: this.#signal });
          return image.top === undefined ? { kind: "empty" as const } : { kind: "snapshot" as const, key: image.top, image };
        }),
      ) as Promise<VertexResult>;
    }
    if (!vertex.ignoreCache) {
      const entry = await this.#options.cache.lookup(key);
      if (entry !== undefined) {
        // --no-cache-filter: the named stages' steps run even under a cached step.
        if (this.#reachesIgnored(vertex.id)) await Promise.all(vertex.inputs.map((id) => this.#solveVertex(id)));
        await this.#reportCachedBelow(vertex);
        this.#report(vertex, "cached", 0);
        return { kind: "snapshot", key: entry.snapshot };
      }
    }
    await this.#explain(vertex);
    const inputs = await Promise.all(vertex.inputs.map((id) => this.#solveVertex(id)));
    const result = (await this.#queue.add(() => this.#timed(vertex, () => this.#run(vertex, key, inputs)))) as VertexResult;
    const slot = this.#slots.get(vertex.id);
    if (slot !== undefined) await this.#history?.put(slot, this.#components.get(vertex.id)!).catch(() => undefined);
    return result;
  }

  /**
   * The steps below a cached step are never looked at; those the cache holds are reported
   * cached too (in graph order, before it), so a no-op rebuild lists every step, in order.
   */
  async #reportCachedBelow(vertex: Vertex): Promise<void> {
    const below = new Set<string>();
    const visit = (id: string) => {
      for (const input of this.#vertices.get(id)!.inputs) {
        if (below.has(input)) continue;
        below.add(input);
        visit(input);
      }
    };
    visit(vertex.id);
    for (const candidate of this.#graph.vertices) {
      if (!below.has(candidate.id) || !isStep(candidate) || candidate.ignoreCache || this.#byVertex.has(candidate.id)) continue;
      // Local records only: an imported step below a cached one is fetched only if something needs it.
      const entry = await lookupLocal(this.#options.cache, this.#keys.get(candidate.id)!);
      // Checked again after the lookup: another branch may have started on it meanwhile.
      if (entry === undefined || this.#byVertex.has(candidate.id)) continue;
      this.#byVertex.set(candidate.id, Promise.resolve({ kind: "snapshot", key: entry.snapshot }));
      this.#report(candidate, "cached", 0);
    }
  }

  /** True when a step below `id` (not `id` itself) must run whatever the cache says. */
  #reachesIgnored(id: string): boolean {
    const known = this.#ignoredBelow.get(id);
    if (known !== undefined) return known;
    const vertex = this.#vertices.get(id)!;
    const result = vertex.inputs.some((input) => (isStep(this.#vertices.get(input)!) && this.#vertices.get(input)!.ignoreCache) || this.#reachesIgnored(input));
    this.#ignoredBelow.set(id, result);
    return result;
  }

  /** Works out why `vertex` missed the cache, from its last run's key components. */
  async #explain(vertex: Vertex): Promise<void> {
    const slot = this.#slots.get(vertex.id);
    const components = this.#components.get(vertex.id);
    if (slot === undefined || components === undefined || this.#history === undefined) return;
    const previous = await this.#history.get(slot).catch(() => undefined);
    this.#reasons.set(vertex.id, explainMiss(previous, components, { ignoreCache: vertex.ignoreCache }));
  }

  /** Runs an exec or file vertex in a fresh snapshot over its first input, and commits it under its cache key. */
  async #run(vertex: Vertex, key: Digest, inputs: VertexResult[]): Promise<VertexResult> {
    const { worker, lease } = this.#options;
    const definition = vertex.definition as ExecDefinition | FileDefinition;
    const rootInput = rootInputOf(definition);
    const parent = inputs[rootInput];
    if (parent.kind === "directory") throw new TsbuildError("INTERNAL", `Step ${vertex.name} builds on a context directory`);
    if (definition.op === "file" && definition.link) return this.#runLinked(vertex, definition, key, inputs);
    const mounts = new SnapshotMounts(worker.snapshotter, worker.tempDir);
    try {
      const active = await mounts.active(parent.kind === "snapshot" ? parent.key : undefined);
      if (definition.op === "exec") {
        await runExec(active.path, definition, {
          executor: worker.executor,
          inputs,
          mounts,
          ...(vertex.proxyEnv === undefined ? {} : { proxyEnv: vertex.proxyEnv }),
          ...(this.#options.secrets === undefined ? {} : { secrets: this.#options.secrets }),
          ...(this.#options.ssh === undefined ? {} : { ssh: this.#options.ssh }),
          ...(this.#options.allowInsecure === undefined ? {} : { allowInsecure: this.#options.allowInsecure }),
          ...(this.#options.limits === undefined ? {} : { limits: this.#options.limits }),
          signal: this.#signal,
          onOutput: (stream, data) => this.#emit({ type: "vertex-log", vertex: vertex.id, name: vertex.name, step: this.#stepOf(vertex), stream, data }),
        });
      } else {
        await this.#applyFileOp(vertex, definition, active.path, inputs, mounts);
      }
      let name = await this.#snapshotName(key);
      await lease.hold({ snapshots: [name] });
      try {
        await mounts.commit(active.key, name);
      } catch (error) {
        // Another build committed the same step meanwhile: keep ours under a name of its own.
        if (!isTsbuildError(error, "CONFLICT") || name !== key) throw error;
        name = digestOf(`${key}\n${randomBytes(16).toString("hex")}`);
        await lease.hold({ snapshots: [name] });
        await mounts.commit(active.key, name);
      }
      await this.#options.cache.put({ key, snapshot: name, layer: undefined, created: formatTime(new Date()) }, { name: vertex.name });
      return { kind: "snapshot", key: name };
    } finally {
      await mounts.release();
    }
  }

  async #applyFileOp(vertex: Vertex, definition: FileDefinition, root: string, inputs: VertexResult[], mounts: SnapshotMounts): Promise<void> {
    const sources: Array<CopySource | undefined> = [];
    for (const [index, input] of inputs.entries()) {
      if (index === 0 || !definition.actions.some((a) => a.action === "copy" && a.source === index)) continue;
      if (input.kind === "directory") sources[index] = { kind: "context", path: input.path, ignore: input.exclude };
      else if (input.kind === "snapshot") sources[index] = { kind: "rootfs", path: await mounts.view(input.key) };
      else sources[index] = { kind: "rootfs", path: (await mounts.active(undefined)).path };
    }
    await applyFileActions(root, definition.actions, { sources, collected: this.#collected.get(vertex.id), signal: this.#signal });
  }

  /**
   * COPY --link: the files are copied into an empty snapshot whose layer is cached under the
   * base-free key (so a changed base reuses it: no file is copied again), then that layer is
   * applied on the base to give the snapshot later steps build on.
   */
  async #runLinked(vertex: Vertex, definition: FileDefinition, key: Digest, inputs: VertexResult[]): Promise<VertexResult> {
    const { worker, lease, cache } = this.#options;
    const linkKey = this.#linkKeys.get(vertex.id)!;
    let linked = vertex.ignoreCache ? undefined : await cache.lookup(linkKey);
    if (linked?.layer === undefined) {
      const mounts = new SnapshotMounts(worker.snapshotter, worker.tempDir);
      try {
        const active = await mounts.active(undefined);
        await this.#applyFileOp(vertex, definition, active.path, inputs, mounts);
        const name = await this.#snapshotName(linkKey);
        await lease.hold({ snapshots: [name] });
        await mounts.commit(active.key, name);
        const layer = await diffLayer(worker, name, this.#graph.epoch === undefined ? {} : { epoch: this.#graph.epoch });
        await lease.hold({ blobs: [layer.descriptor.digest] });
        linked = { key: linkKey, snapshot: name, layer, created: formatTime(new Date()) };
        await cache.put(linked, { name: vertex.name });
      } finally {
        await mounts.release();
      }
    }
    const layer = linked.layer!;
    const parent = inputs[0];
    if (layer.empty) {
      if (parent.kind !== "snapshot") return { kind: "empty" };
      await cache.put({ key, snapshot: parent.key, layer, created: linked.created }, { name: vertex.name });
      return parent;
    }
    const name = await this.#snapshotName(key);
    await lease.hold({ snapshots: [name] });
    await worker.snapshotter.apply(name, await worker.store.content.openStream(layer.descriptor.digest), {
      ...(parent.kind === "snapshot" ? { parent: parent.key } : {}),
      expectedDiffId: layer.diffId,
    });
    await cache.put({ key, snapshot: name, layer, created: linked.created }, { name: vertex.name });
    return { kind: "snapshot", key: name };
  }

  /** The cache key itself, unless a snapshot of that name exists (a --no-cache rerun). */
  async #snapshotName(key: Digest): Promise<string> {
    const exists = await this.#options.worker.snapshotter.stat(key).then(
      () => true,
      (error: unknown) => {
        if (isTsbuildError(error, "NOT_FOUND")) return false;
        throw error;
      },
    );
    return exists ? digestOf(`${key}\n${randomBytes(16).toString("hex")}`) : key;
  }

  async #timed(vertex: Vertex, work: () => Promise<VertexResult>): Promise<VertexResult> {
    if (this.#signal.aborted) throw new TsbuildError("CANCELLED", "The build was cancelled");
    const started = performance.now();
    const reason = this.#reasons.get(vertex.id);
    this.#emit({ type: "vertex-started", vertex: vertex.id, name: vertex.name, step: this.#stepOf(vertex), location: vertex.location, ...(reason === undefined ? {} : { missReason: reason }) });
    try {
      const result = await work();
      this.#report(vertex, "done", performance.now() - started);
      return result;
    } catch (error) {
      return this.#fail(vertex, error, performance.now() - started);
    }
  }

  #fail(vertex: Vertex, error: unknown, durationMs: number): never {
    if (error instanceof BuildFailure) throw error;
    const cancelled = isTsbuildError(error, "CANCELLED") || (this.#abort.signal.aborted && !(error instanceof TsbuildError));
    const failure = new BuildFailure({ vertex: vertex.id, name: vertex.name, location: vertex.location }, error);
    if (!cancelled || this.#options.signal?.aborted) {
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

  #report(vertex: Vertex, status: "cached" | "done", durationMs: number): void {
    const reason = status === "done" ? this.#reasons.get(vertex.id) : undefined;
    this.#steps.push({ vertex: vertex.id, name: vertex.name, status, durationMs, cacheKey: this.#keys.get(vertex.id)!, ...(reason === undefined ? {} : { missReason: reason }) });
    const step = this.#stepOf(vertex);
    if (status === "cached") this.#emit({ type: "vertex-cached", vertex: vertex.id, name: vertex.name, step });
    else this.#emit({ type: "vertex-completed", vertex: vertex.id, name: vertex.name, step, durationMs });
  }

  #stepOf(vertex: Vertex): number {
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

/** RFC 3339 in UTC with whole seconds, as Go writes image times. */
function formatTime(date: Date): string {
  return date.toISOString().replace(/\.\d+Z$/, "Z");
}

function isStep(vertex: Vertex): boolean {
  return vertex.definition.op === "exec" || vertex.definition.op === "file";
}

/** A bind mount's selector as a copy of one path, so it is checksummed as COPY sources are. */
function selectorAction(selector: string): CopyAction {
  return {
    action: "copy",
    source: 0,
    src: selector,
    dest: "/",
    followSymlinks: true,
    dirContentsOnly: true,
    attemptUnpack: false,
    createDestPath: false,
    allowWildcard: false,
    allowEmptyWildcard: false,
    includePatterns: [],
    excludePatterns: [],
    requiredPaths: [],
    chown: undefined,
    chmod: undefined,
  };
}
