import { TsbuildError } from "../errors.js";
import type { BuildGraph, SourceDefinition, Vertex, VertexDefinition, VertexLocation } from "./graph.js";

/** A vertex while the graph is being built: inputs are nodes, ids come at the end. */
export interface VertexNode {
  name: string;
  stage: string | undefined;
  location: VertexLocation | undefined;
  inputs: VertexNode[];
  definition: VertexDefinition;
  proxyEnv: Record<string, string> | undefined;
  ignoreCache: boolean;
}

export interface AddVertexOptions {
  name: string;
  stage?: string;
  location?: VertexLocation;
  inputs?: VertexNode[];
  definition: VertexDefinition;
  proxyEnv?: Record<string, string>;
  ignoreCache?: boolean;
}

/**
 * Collects vertices as the stages are dispatched. Creation order is topological (a
 * vertex is made after its inputs), so ids are simply creation indexes. Sources are
 * shared: one scratch, one vertex per image and platform, one per local context.
 */
export class GraphBuilder {
  readonly #nodes: VertexNode[] = [];
  readonly #sources = new Map<string, VertexNode>();

  add(options: AddVertexOptions): VertexNode {
    const node: VertexNode = {
      name: options.name,
      stage: options.stage,
      location: options.location,
      inputs: options.inputs ?? [],
      // Through JSON once, so a definition holds no `undefined` and digests the same after a round trip.
      definition: JSON.parse(JSON.stringify(options.definition)) as VertexDefinition,
      proxyEnv: options.proxyEnv,
      ignoreCache: options.ignoreCache ?? false,
    };
    this.#nodes.push(node);
    return node;
  }

  /**
   * The empty file system: one for mounts and COPY --link layers, one per platform for a
   * stage's `FROM scratch` (its steps are keyed by their platform, as every stage's are).
   */
  scratch(platform?: string): VertexNode {
    return this.#source(`scratch:${platform ?? ""}`, () => ({
      name: "scratch",
      definition: platform === undefined ? { op: "source", kind: "scratch" } : { op: "source", kind: "scratch", platform },
    }));
  }

  image(ref: string, options: { platform: string; name: string; stage?: string; location?: VertexLocation }): VertexNode {
    return this.#source(`image:${options.platform}:${ref}`, () => ({
      name: options.name,
      stage: options.stage,
      location: options.location,
      definition: { op: "source", kind: "image", ref, platform: options.platform },
    }));
  }

  /** A local context; its followPaths and excludePatterns are filled in when the build is known. */
  local(name: string): VertexNode & { definition: Extract<SourceDefinition, { kind: "local" }> } {
    const node = this.#source(`local:${name}`, () => ({
      name: name === "context" ? "[internal] load build context" : `[context ${name}] load from client`,
      definition: { op: "source", kind: "local", name, followPaths: [], excludePatterns: [] },
    }));
    return node as VertexNode & { definition: Extract<SourceDefinition, { kind: "local" }> };
  }

  #source(key: string, make: () => AddVertexOptions): VertexNode {
    let node = this.#sources.get(key);
    if (!node) {
      node = this.add(make());
      this.#sources.set(key, node);
    }
    return node;
  }

  /** The finished vertices with ids, and the id of `output`. */
  finish(output: VertexNode): Pick<BuildGraph, "vertices" | "output"> {
    const ids = new Map<VertexNode, string>();
    const vertices: Vertex[] = this.#nodes.map((node, index) => {
      const id = String(index);
      ids.set(node, id);
      return {
        id,
        name: node.name,
        stage: node.stage,
        location: node.location,
        inputs: node.inputs.map((input) => {
          const inputId = ids.get(input);
          if (inputId === undefined) throw new TsbuildError("INTERNAL", `Vertex "${node.name}" was created before its input "${input.name}"`);
          return inputId;
        }),
        definition: node.definition,
        proxyEnv: node.proxyEnv,
        ignoreCache: node.ignoreCache,
      };
    });
    return { vertices, output: ids.get(output) ?? "" };
  }
}
