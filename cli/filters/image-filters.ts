import { TsbuildError } from "../../errors.js";
import type { ImageListEntry } from "../../worker/list-images.js";
import { booleanFilter, matchesLabels, pathMatch, type ListFilters } from "./list-filters.js";

export const IMAGE_FILTER_KEYS = ["dangling", "reference", "label", "before", "since"] as const;

/**
 * The rows of `images` that every filter lets through, as docker filters them:
 * `reference=` globs match `name:tag` or `name` (a row per name, so an image shows only its
 * matching names); `before=`/`since=` compare creation times with a named image's.
 */
export function filterImages(rows: readonly ImageListEntry[], filters: ListFilters): ImageListEntry[] {
  const dangling = filters.get("dangling")?.map((value) => booleanFilter("dangling", value));
  const references = filters.get("reference") ?? [];
  const time = (row: ImageListEntry) => (row.created === undefined ? NaN : Date.parse(row.created));
  const before = (filters.get("before") ?? []).map((name) => time(findImage(rows, name, "before")));
  const since = (filters.get("since") ?? []).map((name) => time(findImage(rows, name, "since")));
  return rows.filter((row) => {
    const isDangling = row.repository === "<none>";
    if (dangling !== undefined && !dangling.includes(isDangling)) return false;
    if (references.length > 0) {
      if (isDangling) return false;
      const name = row.tag === "<none>" ? row.repository : `${row.repository}:${row.tag}`;
      if (!references.some((pattern) => pathMatch(pattern, name) || pathMatch(pattern, row.repository))) return false;
    }
    if (!matchesLabels(filters, row.labels)) return false;
    if (before.some((limit) => !(time(row) < limit))) return false;
    if (since.some((limit) => !(time(row) > limit))) return false;
    return true;
  });
}

/** The row a `before=`/`since=` value names: `name[:tag]`, an id or an id prefix. */
function findImage(rows: readonly ImageListEntry[], text: string, key: string): ImageListEntry {
  const bare = text.replace(/^sha256:/, "");
  const withTag = text.includes(":") && !text.startsWith("sha256:") ? text : `${text}:latest`;
  const found =
    rows.find((row) => `${row.repository}:${row.tag}` === withTag) ??
    (/^[0-9a-f]{1,64}$/.test(bare) ? rows.find((row) => row.id.slice("sha256:".length).startsWith(bare)) : undefined);
  if (found === undefined) throw new TsbuildError("NOT_FOUND", `No such image "${text}" (in --filter ${key}=${text})`);
  return found;
}
