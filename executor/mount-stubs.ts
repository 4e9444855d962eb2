import { rmdir, unlink } from "node:fs/promises";
import { join, relative } from "node:path";
import { resolveInRoot } from "./resolve-in-root.js";
import { lstatIfExists, lstatIfExistsSync } from "../util/stat-if-exists.js";
import { compareStrings } from "../util/compare-strings.js";

export interface FindMountStubsOptions {
  /** Paths that exist but are another run's stubs: count them as stubs of this run too. */
  isClaimed?: (path: string) => boolean;
}

/**
 * Host paths inside a rootfs that do not exist yet and that the OCI runtime will create as
 * mount points for the given destinations (the missing tail of each destination's path).
 * Recorded before a run so `removeMountStubs` can take them out of the caller's layer after.
 */
export async function findMountStubs(
  rootfs: string,
  destinations: Iterable<string>,
  options: FindMountStubsOptions = {},
): Promise<string[]> {
  // A dozen quick lookups a destination, synchronous (see resolve-in-root.ts); their stubs
  // are merged in order.
  const found = await Promise.all([...destinations].map((destination) => stubsOf(rootfs, destination, options)));
  const stubs = new Set(found.flat());
  return [...stubs].filter((path) => !relative(rootfs, path).startsWith(".."));
}

/** The missing tail of one destination's path, as host paths. */
async function stubsOf(rootfs: string, destination: string, options: FindMountStubsOptions): Promise<string[]> {
  const parts = destination.split("/").filter((p) => p !== "" && p !== ".");
  for (let i = 1; i <= parts.length; i++) {
    const resolved = await resolveInRoot(rootfs, "/" + parts.slice(0, i).join("/"));
    const exists = lstatIfExistsSync(resolved) !== undefined;
    if (exists && !(options.isClaimed?.(resolved) ?? false)) continue;
    // This component is missing, so everything below it will be created too.
    let path = resolved;
    const stubs = [path];
    for (const rest of parts.slice(i)) {
      if (rest === "..") break; // the runtime resolves it; nothing deeper is ours to name
      path = join(path, rest);
      stubs.push(path);
    }
    return stubs;
  }
  return [];
}

/**
 * Removes mount points the runtime created, deepest first: empty directories and empty
 * regular files only. Anything the process put there itself (a file written into a
 * directory the runtime created for a mount below it) stays, since it belongs to the layer.
 */
export async function removeMountStubs(stubs: Iterable<string>): Promise<void> {
  const ordered = [...stubs].sort((a, b) => depth(b) - depth(a) || compareStrings(b, a));
  for (const path of ordered) {
    const stat = await lstatIfExists(path);
    if (stat === undefined) continue;
    if (stat.isDirectory()) {
      await rmdir(path).catch(() => undefined); // not empty: the process wrote there
    } else if (stat.isFile() && stat.size === 0) {
      await unlink(path).catch(() => undefined); // gone already, or the process made it its own
    }
  }
}

function depth(path: string): number {
  return path.split("/").length;
}

/** In-flight runs' stubs, by path, with how many runs rely on each. */
const claims = new Map<string, number>();
let queue: Promise<unknown> = Promise.resolve();

/** Runs `fn` after every earlier claim or release, so no removal races a claim. */
function serialised<T>(fn: () => Promise<T>): Promise<T> {
  const result = queue.then(fn);
  queue = result.catch(() => undefined); // the caller gets the error from `result`; the queue only orders
  return result;
}

/**
 * `findMountStubs` for a run that may share its rootfs with concurrent runs of this process
 * (tests do; a build gives each RUN its own snapshot). A stub stays until the last run
 * that relies on it releases it: removing a directory detaches the mounts on it in every
 * mount namespace, which would pull a mount out from under a run still going.
 */
export function claimMountStubs(rootfs: string, destinations: Iterable<string>): Promise<string[]> {
  return serialised(async () => {
    const stubs = await findMountStubs(rootfs, destinations, { isClaimed: (path) => claims.has(path) });
    for (const stub of stubs) claims.set(stub, (claims.get(stub) ?? 0) + 1);
    return stubs;
  });
}

/** Gives back stubs from `claimMountStubs` and removes those no other run relies on. */
export function releaseMountStubs(stubs: readonly string[]): Promise<void> {
  return serialised(async () => {
    const free: string[] = [];
    for (const stub of stubs) {
      const left = (claims.get(stub) ?? 1) - 1;
      if (left > 0) {
        claims.set(stub, left);
      } else {
        claims.delete(stub);
        free.push(stub);
      }
    }
    await removeMountStubs(free);
  });
}
