import { join } from "node:path";
import { TsbuildError } from "../errors.js";
import { formatIdMap, hostIdOf, isIdentityMap, parseIdMap, processIdMapping, type IdMapping, type IdRange } from "../util/id-mapping.js";
import { readTextIfExists } from "../util/stat-if-exists.js";
import { writeFileAtomic } from "./atomic-file.js";

/**
 * The user namespace a root's files were written in. A file's owner on disk is a host id:
 * uid 1000 of an image is 1000 in a rootful root and, say, 100999 in a rootless one, so a
 * root is only right under the id map it was written with. The first command that writes a
 * root records the map; later ones must map every recorded id the same way (a map that grew,
 * as when the user got subordinate ranges, is fine and recorded). So a rootful and a
 * rootless tsbuild never share a root, not even through `--root`.
 */

/** Under `<root>/metadata/`, where the store's repair removes a killed writer's temporary file. */
export const ID_MAPPING_FILE = "id-mapping.json";

interface Recorded {
  uidMap: string;
  gidMap: string;
}

/**
 * Checks that this process maps `root`'s recorded ids as they were written, and records the
 * map when there is none or it grew (unless `readOnly`). CONFLICT when it does not.
 */
export async function checkRootIdMapping(root: string, options: { readOnly?: boolean; mapping?: IdMapping } = {}): Promise<void> {
  const mapping = options.mapping ?? processIdMapping();
  const file = join(root, "metadata", ID_MAPPING_FILE);
  const text = await readTextIfExists(file);
  let recorded: IdMapping | undefined;
  if (text !== undefined) {
    try {
      const parsed = JSON.parse(text) as Partial<Recorded>;
      recorded = { uids: parseIdMap(parsed.uidMap ?? ""), gids: parseIdMap(parsed.gidMap ?? "") };
    } catch {
      recorded = undefined; // unreadable: written anew below, as for a root that predates the record
    }
  }
  if (recorded !== undefined && recorded.uids.length > 0 && recorded.gids.length > 0) {
    if (!sameIds(recorded.uids, mapping.uids) || !sameIds(recorded.gids, mapping.gids)) {
      throw new TsbuildError("CONFLICT", `Cannot use root "${root}": it belongs to ${describe(recorded)}, and this is ${describe(mapping)}`, {
        hint: "A rootful and a rootless tsbuild keep separate roots: use the default root, or another --root",
      });
    }
    if (formatIdMap(recorded.uids) === formatIdMap(mapping.uids) && formatIdMap(recorded.gids) === formatIdMap(mapping.gids)) return;
  }
  if (options.readOnly === true) return;
  const record: Recorded = { uidMap: formatIdMap(mapping.uids), gidMap: formatIdMap(mapping.gids) };
  await writeFileAtomic(file, JSON.stringify(record) + "\n");
}

/** True when `current` maps every id of `recorded` to the same host id. */
export function sameIds(recorded: readonly IdRange[], current: readonly IdRange[]): boolean {
  return recorded.every((range) => {
    let covered = 0;
    for (const c of current) {
      const overlap = Math.min(c.inside + c.count, range.inside + range.count) - Math.max(c.inside, range.inside);
      if (overlap <= 0) continue;
      if (c.outside - c.inside !== range.outside - range.inside) return false;
      covered += overlap; // the kernel's ranges never overlap inside, so overlaps add up
    }
    return covered === range.count;
  });
}

function describe(mapping: IdMapping): string {
  if (isIdentityMap(mapping.uids)) return "a rootful tsbuild (the host's ids)";
  const own = hostIdOf(mapping.uids, 0);
  return `a rootless tsbuild of uid ${own ?? "?"} (ids ${formatIdMap(mapping.uids).replace(/\n/g, ", ")})`;
}
