import type { BuildGraph, Vertex } from "../frontend/graph.js";
import { rootInputOf } from "./root-input.js";

/**
 * The steps whose layers an image of `output` has, base first (the RUN and file steps down
 * its root inputs), and the vertex they build on (a base image, scratch, or something that
 * is no file system), as exportImage reads them.
 */
export function exportChainOf(graph: BuildGraph, output: string): { chain: Vertex[]; base: Vertex | undefined } {
  const vertices = new Map(graph.vertices.map((vertex) => [vertex.id, vertex]));
  const chain: Vertex[] = [];
  let vertex = vertices.get(output);
  while (vertex !== undefined && (vertex.definition.op === "exec" || vertex.definition.op === "file")) {
    chain.unshift(vertex);
    vertex = vertices.get(vertex.inputs[rootInputOf(vertex.definition)]);
  }
  return { chain, base: vertex };
}
