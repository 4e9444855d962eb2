import type { BuildGraph, Vertex } from "../../frontend/graph.js";
import type { Operation, ScheduledVertex } from "../operation.js";
import type { VertexResult } from "../types.js";
import { ExecOp } from "./exec-op.js";
import { FileOp } from "./file-op.js";
import { GitSourceOp } from "./git-source-op.js";
import { HttpSourceOp } from "./http-source-op.js";
import { ImageSourceOp } from "./image-source-op.js";
import { LocalSourceOp } from "./local-source-op.js";
import { ScratchSourceOp } from "./scratch-source-op.js";
import type { StepEnvironment } from "./step-environment.js";

/**
 * The frontend's graph as operations for the scheduler: the one place that knows which
 * operation each kind of vertex is.
 */
export function graphOperations(graph: BuildGraph, env: StepEnvironment): ScheduledVertex<VertexResult>[] {
  const byId = new Map(graph.vertices.map((vertex) => [vertex.id, vertex]));
  return graph.vertices.map((vertex) => ({
    id: vertex.id,
    name: vertex.name,
    location: vertex.location,
    inputs: vertex.inputs,
    op: operationOf(vertex, byId, env),
    ignoreCache: vertex.ignoreCache,
  }));
}

function operationOf(vertex: Vertex, byId: ReadonlyMap<string, Vertex>, env: StepEnvironment): Operation<VertexResult> {
  const { definition } = vertex;
  const inputs = vertex.inputs.map((id) => byId.get(id));
  const contextInputs = new Set(inputs.flatMap((input, index) => (input?.definition.op === "source" && input.definition.kind === "local" ? [index] : [])));
  const stageInputs = new Set(inputs.flatMap((input, index) => (input?.definition.op === "exec" || input?.definition.op === "file" ? [index] : [])));
  const inputNames = vertex.inputs.map((id, index) => inputs[index]?.name ?? id);
  switch (definition.op) {
    case "exec":
      return new ExecOp(definition, env, { contextInputs, stageInputs, inputNames, proxyEnv: vertex.proxyEnv });
    case "file":
      return new FileOp(definition, env, { contextInputs, stageInputs, inputNames, name: vertex.name, ignoreCache: vertex.ignoreCache });
    case "source":
      switch (definition.kind) {
        case "scratch":
          return new ScratchSourceOp(definition);
        case "image":
          return new ImageSourceOp(definition, env);
        case "local":
          return new LocalSourceOp(definition, env.contexts);
        case "http":
          return new HttpSourceOp(definition, env);
        case "git":
          return new GitSourceOp(definition, env);
      }
  }
}
