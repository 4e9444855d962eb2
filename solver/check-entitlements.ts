import type { BuildGraph } from "../frontend/graph.js";
import { insecureNotAllowed } from "./run-exec.js";

/**
 * buildx's `--allow` entitlements. `security.insecure` lets `RUN --security=insecure` run;
 * `network.host` is accepted for buildx's command lines but changes nothing: like
 * `docker build`, tsbuild runs `RUN --network=host` without it.
 */
export type Entitlement = "security.insecure" | "network.host";

export const ENTITLEMENTS: readonly Entitlement[] = ["security.insecure", "network.host"];

/**
 * Fails before anything runs when the part of `graph` the output needs holds a step that
 * needs an entitlement not in `allow`, as BuildKit validates a definition's entitlements
 * before solving it (so a cached step needs the entitlement too).
 */
export function checkEntitlements(graph: BuildGraph, allow: readonly Entitlement[]): void {
  if (allow.includes("security.insecure")) return;
  const byId = new Map(graph.vertices.map((vertex) => [vertex.id, vertex]));
  const seen = new Set<string>();
  const pending = [graph.output];
  while (pending.length > 0) {
    const vertex = byId.get(pending.pop()!);
    if (vertex === undefined || seen.has(vertex.id)) continue;
    seen.add(vertex.id);
    if (vertex.definition.op === "exec" && vertex.definition.security === "insecure") throw insecureNotAllowed(vertex.name);
    pending.push(...vertex.inputs);
  }
}
