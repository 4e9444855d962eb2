import { lstat, rmdir, unlink } from "node:fs/promises";
import { join, relative } from "node:path";
import { resolveInRoot } from "./resolve-in-root.js";

/**
 * Host paths inside a rootfs that do not exist yet and that the OCI runtime will create as
 * mount points for the given destinations (the missing tail of each destination's path).
 * Recorded before a run so `removeMountStubs` can take them out of the caller's layer after.
 */
export async function findMountStubs(rootfs: string, destinations: Iterable<string>): Promise<string[]> {
  const stubs = new Set<string>();
  for (const destination of destinations) {
    const parts = destination.split("/").filter((p) => p !== "" && p !== ".");
    for (let i = 1; i <= parts.length; i++) {
      const resolved = await resolveInRoot(rootfs, "/" + parts.slice(0, i).join("/"));
      const exists = await lstat(resolved).then(() => true, () => false);
      if (exists) continue;
      // This component is missing, so everything below it will be created too.
      let path = resolved;
      stubs.add(path);
      for (const rest of parts.slice(i)) {
        if (rest === "..") break; // the runtime resolves it; nothing deeper is ours to name
        path = join(path, rest);
        stubs.add(path);
      }
      break;
    }
  }
  return [...stubs].filter((path) => !relative(rootfs, path).startsWith(".."));
}

/**
 * Removes mount points the runtime created, deepest first: empty directories and empty
 * regular files only. Anything the process put there itself (a file written into a
 * directory the runtime created for a mount below it) stays, since it belongs to the layer.
 */
export async function removeMountStubs(stubs: Iterable<string>): Promise<void> {
  const ordered = [...stubs].sort((a, b) => depth(b) - depth(a) || b.localeCompare(a));
  for (const path of ordered) {
    const stat = await lstat(path).catch(() => undefined);
    if (stat === undefined) continue;
    if (stat.isDirectory()) {
      await rmdir(path).catch(() => undefined); // not empty: the process wrote there
    } else if (stat.isFile() && stat.size === 0) {
      await unlink(path).catch(() => undefined);
    }
  }
}

function depth(path: string): number {
  return path.split("/").length;
}
