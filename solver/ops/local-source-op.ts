import { TsbuildError } from "../../errors.js";
import type { SourceDefinition } from "../../frontend/graph.js";
import { computeCacheKey } from "../cache-key.js";
import type { CacheMap, Operation } from "../operation.js";
import type { VertexResult } from "../types.js";

/**
 * A local context (the build context, or `--build-context name=DIR`), read in place. Its
 * key is only its definition: the steps that read it key the files they read.
 */
export class LocalSourceOp implements Operation<VertexResult> {
  readonly cached = false;
  readonly quiet = true;
  readonly #definition: Extract<SourceDefinition, { kind: "local" }>;
  readonly #path: string | undefined;

  constructor(definition: Extract<SourceDefinition, { kind: "local" }>, contexts: Record<string, string>) {
    this.#definition = definition;
    this.#path = contexts[definition.name];
  }

  async cacheMap(): Promise<CacheMap> {
    if (this.#path === undefined) {
      const { name } = this.#definition;
      throw new TsbuildError("USAGE", `Cannot find build context "${name}"`, { hint: `Pass it with --build-context ${name}=DIR` });
    }
    return { key: computeCacheKey(this.#definition, { inputs: [], checksums: [] }) };
  }

  async execute(): Promise<VertexResult> {
    return { kind: "directory", path: this.#path!, exclude: this.#definition.excludePatterns };
  }
}
