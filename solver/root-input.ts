import type { ExecDefinition, FileDefinition } from "../frontend/graph.js";

/**
 * The input a step builds on: for a RUN its root mount's input (the mount marked as the
 * output), for a file op input 0. Its snapshot is the parent of the step's own.
 */
export function rootInputOf(definition: ExecDefinition | FileDefinition): number {
  if (definition.op === "file") return 0;
  const root = definition.mounts.find((mount) => (mount.type === "layer" || mount.type === "bind") && mount.output);
  return root !== undefined && "input" in root ? root.input : 0;
}
