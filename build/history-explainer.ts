import type { BuildGraph } from "../frontend/graph.js";
import type { Store } from "../store/store.js";
import { explainMiss, type MissReason, type StepComponents } from "../solver/explain-miss.js";
import type { MissExplainer } from "../solver/operation.js";
import { StepHistory } from "../solver/step-history.js";

/**
 * Explains a Dockerfile step's miss against its last run. A step is known across builds by
 * its slot: the scope (context and Dockerfile paths), its stage, and its position in the
 * stage, so an edited step is compared with what stood in its place before.
 */
export function historyExplainer(graph: BuildGraph, store: Store, scope: string): MissExplainer {
  const history = new StepHistory(store);
  const slots = new Map<string, string>();
  const ordinals = new Map<string, number>();
  for (const vertex of graph.vertices) {
    if (vertex.definition.op !== "exec" && vertex.definition.op !== "file") continue;
    const n = ordinals.get(vertex.stage ?? "") ?? 0;
    ordinals.set(vertex.stage ?? "", n + 1);
    slots.set(vertex.id, `${scope}\0${vertex.stage ?? ""}\0${n}`);
  }
  return {
    async explain(vertexId: string, components: StepComponents | undefined, options: { ignoreCache: boolean }): Promise<MissReason | undefined> {
      const slot = slots.get(vertexId);
      if (slot === undefined || components === undefined) return undefined;
      // An unreadable record explains nothing; the step runs all the same.
      const previous = await history.get(slot).catch(() => undefined);
      return explainMiss(previous, components, options);
    },
    async record(vertexId: string, components: StepComponents): Promise<void> {
      const slot = slots.get(vertexId);
      if (slot !== undefined) await history.put(slot, components);
    },
  };
}
