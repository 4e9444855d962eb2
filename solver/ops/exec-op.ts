import type { ExecDefinition } from "../../frontend/graph.js";
import { canonicalJson, computeCacheKey } from "../cache-key.js";
import type { CacheMap, CacheMapContext, ExecuteContext, Operation } from "../operation.js";
import { rootInputOf } from "../root-input.js";
import { runExec } from "../run-exec.js";
import type { VertexResult } from "../types.js";
import { commitStep } from "./commit-step.js";
import { readContextFiles, selectorAction } from "./context-files.js";
import type { StepEnvironment } from "./step-environment.js";

export interface ExecOpOptions {
  /** The inputs that are local context directories: the files a bind mount reads of them go into the key. */
  contextInputs: ReadonlySet<number>;
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

  constructor(definition: ExecDefinition, env: StepEnvironment, options: ExecOpOptions) {
    this.#definition = definition;
    this.#env = env;
    this.#options = options;
  }

  async cacheMap(context: CacheMapContext): Promise<CacheMap> {
    const checksums: string[] = [];
    const files: string[][] = [];
    for (const [index, mount] of this.#definition.mounts.entries()) {
      if ((mount.type !== "bind" && mount.type !== "layer") || !this.#options.contextInputs.has(mount.input)) continue;
      const read = await readContextFiles((await context.input(mount.input)) as VertexResult, selectorAction(mount.selector), this.#env.digests);
      if (read === undefined) continue;
      files.push(read.lines);
      checksums.push(`${index}:${read.checksum}`);
    }
    const key = computeCacheKey(this.#definition, { inputs: context.inputKeys, checksums });
    return { key, components: { definition: canonicalJson(this.#definition), inputs: [...context.inputKeys], inputNames: [...this.#options.inputNames], files } };
  }

  async execute(context: ExecuteContext, inputs: readonly VertexResult[]): Promise<VertexResult> {
    const env = this.#env;
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
