import type { SourceDefinition } from "../../frontend/graph.js";
import { computeCacheKey } from "../cache-key.js";
import type { CacheMap, ExecuteContext, Operation } from "../operation.js";
import type { VertexResult } from "../types.js";
import type { StepEnvironment } from "./step-environment.js";

/**
 * `FROM image`: keyed by its reference (pinned by digest when it was resolved), so no layer
 * is fetched for the key. Its layers are pulled and unpacked only when a step must run on
 * them, with progress per layer.
 */
export class ImageSourceOp implements Operation<VertexResult> {
  readonly cached = false;
  readonly #definition: Extract<SourceDefinition, { kind: "image" }>;
  readonly #env: StepEnvironment;

  constructor(definition: Extract<SourceDefinition, { kind: "image" }>, env: StepEnvironment) {
    this.#definition = definition;
    this.#env = env;
  }

  async cacheMap(): Promise<CacheMap> {
    return { key: computeCacheKey(this.#definition, { inputs: [] }) };
  }

  async execute(context: ExecuteContext): Promise<VertexResult> {
    const image = await this.#env.worker.images.unpack(this.#definition.ref, { signal: context.signal, lease: this.#env.lease, onProgress: context.progress });
    return image.top === undefined ? { kind: "empty" } : { kind: "snapshot", key: image.top, image };
  }
}
