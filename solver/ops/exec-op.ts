import { checkEmulation, platformOf } from "../../executor/emulation.js";
import type { ExecDefinition } from "../../frontend/graph.js";
import type { Digest } from "../../oci/digest.js";
import { canonicalJson, computeCacheKey } from "../cache-key.js";
import type { CacheMap, CacheMapContext, ExecuteContext, Operation } from "../operation.js";
import { rootInputOf } from "../root-input.js";
import { runExec } from "../run-exec.js";
import type { VertexResult } from "../types.js";
import { commitStep } from "./commit-step.js";
import { readContexts, selectorAction, stageContentKey } from "./context-files.js";
import type { StepEnvironment } from "./step-environment.js";

export interface ExecOpOptions {
  /** The inputs that are local context directories: the files a bind mount reads of them go into the key. */
  contextInputs: ReadonlySet<number>;
  /** The inputs that are other build steps (`--mount=from=stage`): what a bind mount reads of them gives a second key. */
  stageInputs: ReadonlySet<number>;
  /** Names of the inputs, for explaining a miss. */
  inputNames: readonly string[];
  /** `HTTP_PROXY` and friends: in the environment, never in the cache key. */
  proxyEnv: Record<string, string> | undefined;
}

/**
 * A RUN: runs the command in a fresh snapshot over its root mount's input, with its other
 * mounts, and commits the result. Keyed by its definition, its inputs' keys and the
 * context files its bind mounts read.
 */
export class ExecOp implements Operation<VertexResult> {
  readonly cached = true;
  readonly #definition: ExecDefinition;
  readonly #env: StepEnvironment;
  readonly #options: ExecOpOptions;
  /** What each key this op worked out was made of, for its content key. */
  readonly #keyed = new Map<Digest, { inputs: readonly Digest[]; checksums: readonly string[] }>();

  constructor(definition: ExecDefinition, env: StepEnvironment, options: ExecOpOptions) {
    this.#definition = definition;
    this.#env = env;
    this.#options = options;
  }

  async cacheMap(context: CacheMapContext): Promise<CacheMap> {
    const binds = this.#definition.mounts.flatMap((mount, index) =>
      (mount.type === "bind" || mount.type === "layer") && this.#options.contextInputs.has(mount.input) ? [{ index, input: mount.input, action: selectorAction(mount.selector) }] : [],
    );
    const { checksums, files } = await readContexts(binds, context, this.#env.digests);
    const key = computeCacheKey(this.#definition, { inputs: context.inputKeys, checksums });
    this.#keyed.set(key, { inputs: context.inputKeys, checksums });
    return { key, components: { definition: canonicalJson(this.#definition), inputs: [...context.inputKeys], inputNames: [...this.#options.inputNames], files } };
  }

  /**
   * BuildKit's content key: what the bind mounts read of other stages, by content, in place
   * of those stages' keys, so a stage that rebuilt to the same files does not make this step
   * run. Not when the RUN builds on the other stage's output itself (its root mount).
   */
  async contentKey(context: ExecuteContext, inputs: readonly VertexResult[]): Promise<Digest | undefined> {
    const root = rootInputOf(this.#definition);
    const binds = this.#definition.mounts.flatMap((mount, index) =>
      mount.type === "bind" && mount.input !== root && this.#options.stageInputs.has(mount.input) ? [{ mount, index }] : [],
    );
    const keyed = this.#keyed.get(context.key);
    if (binds.length === 0 || keyed === undefined) return undefined;
    // A stage read by a bind mount and also by another mount (a cache seed) is still keyed by its key there.
    const read = new Set(binds.map(({ mount }) => mount.input));
    if (this.#definition.mounts.some((mount, index) => "input" in mount && read.has(mount.input) && !binds.some((bind) => bind.index === index))) return undefined;
    const reads = binds.map(({ mount, index }) => ({ index, input: mount.input, action: selectorAction(mount.selector) }));
    return stageContentKey(this.#definition, keyed, reads, { reads: this.#env.stageReads, results: inputs });
  }

  async execute(context: ExecuteContext, inputs: readonly VertexResult[]): Promise<VertexResult> {
    const env = this.#env;
    // Another platform's step runs under emulation: without an emulator, say so before anything is prepared.
    if (this.#definition.platform !== undefined) await checkEmulation(platformOf(this.#definition.platform));
    return commitStep(env, context.key, inputs[rootInputOf(this.#definition)], (root, mounts) =>
      runExec(root, this.#definition, {
        executor: env.worker.executor,
        inputs,
        mounts,
        ...(this.#options.proxyEnv === undefined ? {} : { proxyEnv: this.#options.proxyEnv }),
        ...(env.secrets === undefined ? {} : { secrets: env.secrets }),
        ...(env.ssh === undefined ? {} : { ssh: env.ssh }),
        ...(env.allowInsecure === undefined ? {} : { allowInsecure: env.allowInsecure }),
        ...(env.limits === undefined ? {} : { limits: env.limits }),
        signal: context.signal,
        onOutput: (stream, data) => context.log(stream, data),
      }),
    );
  }
}
