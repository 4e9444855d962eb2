import { readFile } from "node:fs/promises";
import { isMissing } from "../util/stat-if-exists.js";

/**
 * Subordinate id ranges: /etc/subuid and /etc/subgid give a user ranges of host ids that
 * `newuidmap` and `newgidmap` (Debian's `uidmap`) let them map into a user namespace of
 * their own, beside their own id. One line per range: `user:start:count`, the user by name
 * or by number (shadow's subid(5)).
 */

export interface SubordinateRange {
  start: number;
  count: number;
}

export const SUBUID_FILE = "/etc/subuid";
export const SUBGID_FILE = "/etc/subgid";

/** The ranges `text` gives the user `name` (or `id`), in file order; overlaps are the admin's to avoid. */
export function parseSubordinateIds(text: string, user: { name?: string; id: number }): SubordinateRange[] {
  const ranges: SubordinateRange[] = [];
  for (const line of text.split("\n")) {
    const trimmed = line.trim();
    if (trimmed === "" || trimmed.startsWith("#")) continue;
    const [owner, start, count] = trimmed.split(":");
    if (owner !== user.name && owner !== String(user.id)) continue;
    const range = { start: Number(start), count: Number(count) };
    if (Number.isSafeInteger(range.start) && Number.isSafeInteger(range.count) && range.start >= 0 && range.count > 0) ranges.push(range);
  }
  return ranges;
}

/** The ranges of `user` in `file`; none when the file does not exist. */
export async function readSubordinateIds(file: string, user: { name?: string; id: number }): Promise<SubordinateRange[]> {
  try {
    return parseSubordinateIds(await readFile(file, "utf8"), user);
  } catch (error) {
    if (isMissing(error)) return [];
    throw error;
  }
}
