import { addAbortSignal } from "node:stream";
import type { FileDefinition } from "../../frontend/graph.js";
import { digestOf, type Digest } from "../../oci/digest.js";
import { applyFileActions, type CopySource } from "../apply-file-actions.js";
import { canonicalJson, computeCacheKey } from "../cache-key.js";
import type { SourceEntry, SourceMatch } from "../copy-sources.js";
import { CopyReuse } from "../incremental-copy.js";
import { diffLayer } from "../diff-layer.js";
import type { CacheMap, CacheMapContext, ExecuteContext, Operation } from "../operation.js";
import { SnapshotMounts } from "../snapshot-mounts.js";
import type { VertexResult } from "../types.js";
import { commitStep } from "./commit-step.js";
import { readContexts, stageContentKey, type InputRead } from "./context-files.js";
import { formatTime, snapshotNameFor, type StepEnvironment } from "./step-environment.js";

export interface FileOpOptions {
  /** The inputs that are local context directories: the files copied from them go into the key. */
  contextInputs: ReadonlySet<number>;
  /** The inputs that are other build steps (`COPY --from=stage`): their content gives a second key. */
  stageInputs: ReadonlySet<number>;
  /** Names of the inputs, for explaining a miss. */
  inputNames: readonly string[];
  /** The step's name, for the cache record of a COPY --link layer. */
  name: string;
  /** `--no-cache`: a COPY --link makes its layer again too. */
  ignoreCache: boolean;
}

/**
 * COPY, ADD, WORKDIR's mkdir and heredoc files: the actions applied, in order, to a fresh
 * snapshot over input 0. Keyed by its definition, its inputs' keys and the context files it
 * copies (read here, and reused when it runs).
 */
export class FileOp implements Operation<VertexResult> {
  readonly cached = true;
  readonly #definition: FileDefinition;
  readonly #env: StepEnvironment;
  readonly #options: FileOpOptions;
  readonly #stageReads: readonly InputRead[];
  /**
   * What each key this op worked out was made of: the context matches read (reused when the
   * step runs), the inputs and checksums (for the content key), and for COPY --link the key
   * of its own layer, which leaves the base out.
   */
  readonly #keyed = new Map<
    Digest,
    { collected: Map<number, SourceMatch[]>; contents: Map<SourceEntry, string>; inputs: readonly Digest[]; checksums: readonly string[]; linkKey?: Digest }
  >();

  constructor(definition: FileDefinition, env: StepEnvironment, options: FileOpOptions) {
    this.#definition = definition;
    this.#env = env;
    this.#options = options;
    // The copies from other stages that the content key reads (none for COPY --link).
    this.#stageReads = definition.link
      ? []
      : definition.actions.flatMap((action, index) => (action.action === "copy" && action.source !== 0 && options.stageInputs.has(action.source) ? [{ index, input: action.source, action }] : []));
  }

  async cacheMap(context: CacheMapContext): Promise<CacheMap> {
    const copies = this.#definition.actions.flatMap((action, index) => (action.action === "copy" ? [{ index, input: action.source, action }] : []));
    const { checksums, files, collected, contents } = await readContexts(copies.filter((read) => this.#options.contextInputs.has(read.input)), context, this.#env.digests);
    // A download's key is its content; for explaining a miss it is its file line ("file a.txt changed"), not its key.
    const explainedInputs: string[] = [...context.inputKeys];
    for (const { input } of copies) {
      const contents = context.inputMaps[input]?.contents;
      if (contents === undefined || explainedInputs[input] === "content") continue;
      files.push(contents);
      explainedInputs[input] = "content";
    }
    const inputs = context.inputKeys;
    let key: Digest;
    let linkKey: Digest | undefined;
    if (this.#definition.link) {
      // COPY --link: the copied files form a layer of their own, keyed without the base, so
      // a changed base only re-applies that layer; the step's key still covers the base.
      linkKey = computeCacheKey(this.#definition, { inputs: ["link", ...inputs.slice(1)], checksums });
      key = digestOf(`${linkKey}\n${inputs[0]}`);
    } else {
      key = computeCacheKey(this.#definition, { inputs, checksums });
    }
    this.#keyed.set(key, { collected, contents, inputs, checksums, ...(linkKey === undefined ? {} : { linkKey }) });
    return { key, components: { definition: canonicalJson(this.#definition), inputs: explainedInputs, inputNames: [...this.#options.inputNames], files } };
  }

  /**
   * BuildKit's content key: the files copied from other stages, by content (and owner),
   * in place of those stages' keys, so a stage that rebuilt to the same files does not make
   * this step run. Not for COPY --link, whose layer has a key of its own.
   */
  async contentKey(context: ExecuteContext, inputs: readonly VertexResult[]): Promise<Digest | undefined> {
    const reads = this.#stageReads;
    const keyed = this.#keyed.get(context.key);
    if (reads.length === 0 || keyed === undefined) return undefined;
    return stageContentKey(this.#definition, keyed, reads, { reads: this.#env.stageReads, results: inputs });
  }

  /** A stage this step copies from is built: what the content key reads of it is read now. */
  inputSolved(index: number, result: VertexResult): void {
    if (result.kind !== "snapshot") return;
    for (const read of this.#stageReads) if (read.input === index) void this.#env.stageReads.read(result.key, read.action);
  }

  async execute(context: ExecuteContext, inputs: readonly VertexResult[]): Promise<VertexResult> {
    if (this.#definition.link) return this.#executeLinked(context, inputs);
    const template = this.#templateId(inputs);
    if (template === undefined) return commitStep(this.#env, context.key, inputs[0], (root, mounts) => this.#apply(root, inputs, mounts, context));
    // Incremental COPY (incremental-copy.ts): only what changed since the last run is copied.
    const parent = inputs[0].kind === "snapshot" ? inputs[0].key : undefined;
    let reuse: CopyReuse | undefined;
    const made = await commitStep(
      this.#env,
      context.key,
      inputs[0],
      async (root, mounts, active) => {
        const digests = this.#keyed.get(context.key)?.contents ?? new Map<SourceEntry, string>();
        reuse = await CopyReuse.open(this.#env, { id: template, active, parent, digests, ignoreCache: this.#options.ignoreCache });
        await this.#apply(root, inputs, mounts, context, reuse);
      },
      { afterUnmount: async () => reuse?.finish() },
    );
    await reuse?.save(this.#env.worker.store, template, made.key, parent);
    return made;
  }

  /** The template id of a COPY that can be incremental: one plain copy from a context, no archive to unpack. */
  #templateId(inputs: readonly VertexResult[]): string | undefined {
    const [action, ...more] = this.#definition.actions;
    if (more.length > 0 || action?.action !== "copy" || action.attemptUnpack || !this.#options.contextInputs.has(action.source)) return undefined;
    const source = inputs[action.source];
    if (source?.kind !== "directory" || inputs[0].kind === "directory") return undefined;
    return CopyReuse.idOf(canonicalJson(this.#definition), [source.path, ...source.exclude]);
  }

  async #apply(root: string, inputs: readonly VertexResult[], mounts: SnapshotMounts, context: ExecuteContext, reuse?: CopyReuse): Promise<void> {
    const sources: Array<CopySource | undefined> = [];
    for (const [index, input] of inputs.entries()) {
      if (index === 0 || !this.#definition.actions.some((a) => a.action === "copy" && a.source === index)) continue;
      if (input.kind === "directory") sources[index] = { kind: "context", path: input.path, ignore: input.exclude };
      else if (input.kind === "snapshot") sources[index] = { kind: "rootfs", path: await this.#env.views.view(input.key) };
      else sources[index] = { kind: "rootfs", path: (await mounts.active(undefined)).path };
    }
    await applyFileActions(root, this.#definition.actions, {
      sources,
      collected: this.#keyed.get(context.key)?.collected ?? new Map(),
      signal: context.signal,
      ...(reuse === undefined ? {} : { reuse }),
    });
  }

  /**
   * COPY --link: the files are copied into an empty snapshot whose layer is cached under the
   * base-free key (so a changed base reuses it: no file is copied again), then that layer is
   * applied on the base to give the snapshot later steps build on.
   */
  async #executeLinked(context: ExecuteContext, inputs: readonly VertexResult[]): Promise<VertexResult> {
    const { worker, lease, cache, epoch } = this.#env;
    const linkKey = this.#keyed.get(context.key)!.linkKey!;
    let linked = this.#options.ignoreCache ? undefined : await cache.lookup(linkKey);
    if (linked?.layer === undefined) {
      const made = await commitStep(this.#env, linkKey, { kind: "empty" }, (root, mounts) => this.#apply(root, inputs, mounts, context));
      const layer = await diffLayer(worker, made.key, { ...(epoch === undefined ? {} : { epoch }), signal: context.signal });
      await lease.hold({ blobs: [layer.descriptor.digest] });
      linked = { key: linkKey, snapshot: made.key, layer, created: formatTime(new Date()) };
      await cache.put(linked, { name: this.#options.name });
    }
    const layer = linked.layer!;
    const parent = inputs[0];
    if (layer.empty) {
      if (parent.kind !== "snapshot") return { kind: "empty" };
      return { kind: "snapshot", key: parent.key, layer, created: linked.created };
    }
    const name = await snapshotNameFor(worker, context.key);
    await lease.hold({ snapshots: [name] });
    // An abort ends the layer's stream, and so the apply.
    await worker.snapshotter.apply(name, addAbortSignal(context.signal, await worker.store.content.openStream(layer.descriptor.digest)), {
      ...(parent.kind === "snapshot" ? { parent: parent.key } : {}),
      expectedDiffId: layer.diffId,
    });
    return { kind: "snapshot", key: name, layer, created: linked.created };
  }
}
