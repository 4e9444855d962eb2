import { readFileSync } from "node:fs";

/**
 * The user namespace this process runs in, as /proc/self/uid_map and gid_map describe it.
 * A rootless tsbuild runs in a user namespace of its own (executor/user-namespace.ts), where
 * it is root over the ids mapped to it: the file system, the mounts and the OCI runtime
 * behave differently there (no trusted.* xattrs, no device nodes, only mapped owners), and
 * the code that cares asks here. Read once: a process never changes its user namespace.
 */

/** One line of an id map: ids `inside` .. `inside + count - 1` are `outside` .. on the host. */
export interface IdRange {
  inside: number;
  outside: number;
  count: number;
}

export interface IdMapping {
  uids: readonly IdRange[];
  gids: readonly IdRange[];
}

/** Parses the text of /proc/<pid>/uid_map or gid_map (three numbers a line). */
export function parseIdMap(text: string): IdRange[] {
  const ranges: IdRange[] = [];
  for (const line of text.split("\n")) {
    const fields = line.trim().split(/\s+/);
    if (fields.length !== 3) continue;
    const [inside, outside, count] = fields.map(Number);
    if ([inside, outside, count].every(Number.isInteger)) ranges.push({ inside, outside, count });
  }
  return ranges;
}

/** The initial user namespace maps every id to itself: `0 0 4294967295`. */
export function isIdentityMap(ranges: readonly IdRange[]): boolean {
  return ranges.length === 1 && ranges[0].inside === 0 && ranges[0].outside === 0 && ranges[0].count === 4294967295;
}

/** True when `id` (as seen inside) has a host id. */
export function mapsId(ranges: readonly IdRange[], id: number): boolean {
  return ranges.some((range) => id >= range.inside && id < range.inside + range.count);
}

/** The host id of `id` as seen inside, or undefined when it is not mapped. */
export function hostIdOf(ranges: readonly IdRange[], id: number): number | undefined {
  const range = ranges.find((r) => id >= r.inside && id < r.inside + r.count);
  return range === undefined ? undefined : range.outside + (id - range.inside);
}

/** How many ids the map covers. */
export function mappedCount(ranges: readonly IdRange[]): number {
  return ranges.reduce((sum, range) => sum + range.count, 0);
}

/** The map as the kernel prints it, one `inside outside count` a line (for records and messages). */
export function formatIdMap(ranges: readonly IdRange[]): string {
  return ranges.map((r) => `${r.inside} ${r.outside} ${r.count}`).join("\n");
}

let own: IdMapping | undefined;

/** This process's mapping. Without /proc (never on Linux as tsbuild needs it) the identity. */
export function processIdMapping(): IdMapping {
  if (own === undefined) {
    const read = (file: string) => {
      try {
        return parseIdMap(readFileSync(file, "utf8"));
      } catch {
        // No /proc: nothing else works then either; the identity keeps this answer harmless.
        return [{ inside: 0, outside: 0, count: 4294967295 }];
      }
    };
    own = { uids: read("/proc/self/uid_map"), gids: read("/proc/self/gid_map") };
  }
  return own;
}

/** True in any user namespace but the initial one (a rootless tsbuild's, or a container's). */
export function inUserNamespace(): boolean {
  return !isIdentityMap(processIdMapping().uids);
}
