import { TsbuildError } from "../../errors.js";
import type { ContainerListEntry } from "../../container/list-containers.js";
import { matchesLabels, type ListFilters } from "./list-filters.js";

export const CONTAINER_FILTER_KEYS = ["status", "name", "label", "ancestor", "id", "exited"] as const;

const STATUSES = ["created", "restarting", "running", "removing", "paused", "exited", "dead"];

/** What the filters need to know of a container's image, looked up once per image id. */
export interface ContainerImageFacts {
  labels: Record<string, string>;
  /** The image's layers, to see whether it was built on an `ancestor=` image. */
  diffIds: string[];
}

/** An `ancestor=` value resolved: its image id and layers, when the store has it. */
export interface AncestorImage {
  text: string;
  id?: string;
  diffIds?: string[];
}

/** Checks the filter values that have a fixed grammar before anything is listed. */
export function checkContainerFilters(filters: ListFilters): void {
  for (const status of filters.get("status") ?? []) {
    if (!STATUSES.includes(status)) throw new TsbuildError("USAGE", `Invalid filter "status=${status}"`, { hint: `Use one of ${STATUSES.join(", ")}` });
  }
  for (const code of filters.get("exited") ?? []) {
    if (!/^-?\d+$/.test(code)) throw new TsbuildError("USAGE", `Invalid filter "exited=${code}": not an exit code`);
  }
}

/**
 * docker's `ps` filters: `status=` the state, `name=` a regular expression (a substring
 * matches), `label=` the container's labels (its image's, which docker copies), `ancestor=` the image by name,
 * id or any image built on it, `id=` an id prefix, `exited=` the exit code.
 */
export function filterContainers(
  entries: readonly ContainerListEntry[],
  filters: ListFilters,
  facts: { image(entry: ContainerListEntry): ContainerImageFacts | undefined; ancestors: readonly AncestorImage[] },
): ContainerListEntry[] {
  return entries.filter((entry) => {
    const { record, state } = entry;
    const status = filters.get("status");
    if (status !== undefined && !status.includes(state.status)) return false;
    const names = filters.get("name");
    if (names !== undefined && !names.some((pattern) => nameMatches(pattern, record.name))) return false;
    const ids = filters.get("id");
    if (ids !== undefined && !ids.some((id) => id !== "" && record.id.startsWith(id))) return false;
    const exited = filters.get("exited");
    if (exited !== undefined && !(state.status === "exited" && exited.some((code) => Number(code) === state.exitCode))) return false;
    const image = facts.image(entry);
    if (!matchesLabels(filters, image?.labels ?? {})) return false;
    if (facts.ancestors.length > 0 && !facts.ancestors.some((ancestor) => descendsFrom(entry, image, ancestor))) return false;
    return true;
  });
}

function nameMatches(pattern: string, name: string): boolean {
  try {
    return new RegExp(pattern).test(name);
  } catch {
    // Not a regular expression: docker would refuse it; a plain substring is what was meant.
    return name.includes(pattern);
  }
}

function descendsFrom(entry: ContainerListEntry, image: ContainerImageFacts | undefined, ancestor: AncestorImage): boolean {
  const named = entry.record.image;
  if (named === ancestor.text || named === `${ancestor.text}:latest` || `${named}:latest` === ancestor.text) return true;
  if (ancestor.id === undefined || ancestor.diffIds === undefined) return false;
  if (entry.record.imageId === ancestor.id) return true;
  // Built on it, as docker's containerd store decides: the ancestor's layers are the first
  // layers of the container's image, which has more (so two images are not each other's).
  const layers = image?.diffIds ?? [];
  return ancestor.diffIds.length < layers.length && ancestor.diffIds.every((id, i) => layers[i] === id);
}
