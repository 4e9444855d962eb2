import type { SourceDefinition } from "../../frontend/graph.js";
import { computeCacheKey } from "../cache-key.js";
import type { CacheMap, Operation } from "../operation.js";
import type { VertexResult } from "../types.js";

/** `FROM scratch`: the empty tree. */
export class ScratchSourceOp implements Operation<VertexResult> {
  readonly cached = false;
  readonly quiet = true;
  readonly #definition: SourceDefinition;

  constructor(definition: SourceDefinition) {
    this.#definition = definition;
  }

  async cacheMap(): Promise<CacheMap> {
    return { key: computeCacheKey(this.#definition, { inputs: [] }) };
  }

  async execute(): Promise<VertexResult> {
    return { kind: "empty" };
  }
}
