import type { BuildGraph, Vertex } from "../frontend/graph.js";
import type { Store } from "../store/store.js";
import { importedStepHistory, type ImportedCache } from "../solver/cache-import.js";
import { explainMiss, type MissReason, type StepComponents } from "../solver/explain-miss.js";
import type { MissExplainer } from "../solver/operation.js";
import { StepHistory } from "../solver/step-history.js";

export interface BuildHistory {
  explainer: MissExplainer;
  /** A step's last key components with its portable slot, for `--cache-to`. */
  exported(step: Vertex): Promise<{ slot: string; components: StepComponents } | undefined>;
}

/**
 * Explains a Dockerfile step's miss against its last run. A step is known across builds by
 * its slot: its stage and position in the stage, under a scope (context and Dockerfile
 * paths) here, and under the Dockerfile's name in an exported cache (the portable slot), so
 * on a fresh machine that imported the cache a miss still says which file changed.
 */
export function buildHistory(graph: BuildGraph, store: Store, options: { scope: string; dockerfile: string; imported: readonly ImportedCache[] }): BuildHistory {
  const history = new StepHistory(store);
  const slots = new Map<string, { local: string; portable: string }>();
  const ordinals = new Map<string, number>();
  for (const vertex of graph.vertices) {
    if (vertex.definition.op !== "exec" && vertex.definition.op !== "file") continue;
    const n = ordinals.get(vertex.stage ?? "") ?? 0;
    ordinals.set(vertex.stage ?? "", n + 1);
    const place = `${vertex.stage ?? ""}\0${n}`;
    slots.set(vertex.id, { local: `${options.scope}\0${place}`, portable: `${options.dockerfile}\0${place}` });
  }
  return {
    explainer: {
      async explain(vertexId: string, components: StepComponents | undefined, explainOptions: { ignoreCache: boolean }): Promise<MissReason | undefined> {
        const slot = slots.get(vertexId);
        if (slot === undefined || components === undefined) return undefined;
        // An unreadable record explains nothing; the step runs all the same.
        const previous = (await history.get(slot.local).catch(() => undefined)) ?? (await importedStepHistory(options.imported, slot.portable, store));
        return explainMiss(previous, components, explainOptions);
      },
      async record(vertexId: string, components: StepComponents): Promise<void> {
        const slot = slots.get(vertexId);
        if (slot !== undefined) await history.put(slot.local, components);
      },
    },
    async exported(step) {
      const slot = slots.get(step.id);
      const components = slot === undefined ? undefined : await history.get(slot.local);
      return slot === undefined || components === undefined ? undefined : { slot: slot.portable, components };
    },
  };
}
