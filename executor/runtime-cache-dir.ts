import { lstatSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { inUserNamespace } from "../util/id-mapping.js";

/** Host-wide, per boot (/run is a tmpfs), root only. */
const HOST_DIR = "/run/tsbuild/runtime-cache";

/**
 * Where runtime probes and compiled seccomp programs are kept for later processes. They
 * depend on the machine, the boot and the runtime binary, not on the root, so a rootful
 * tsbuild keeps them once per boot in a root-only directory under /run: a new root (a CI
 * job's, a test's) starts its first RUN without probing again, as a daemon probes once.
 * A rootless tsbuild (root only in its own user namespace) and a host whose /run is not
 * root's alone keep them under the root, as before. The seccomp program read back is
 * loaded into every sandbox, so the directory must be root's and writable by root alone.
 */
export async function runtimeCacheDir(root: string): Promise<string> {
  const own = join(root, "runtime");
  if (process.getuid?.() !== 0 || inUserNamespace()) return own;
  // Synchronous: three quick calls on the first RUN's way to starting.
  try {
    mkdirSync(HOST_DIR, { recursive: true, mode: 0o700 });
    for (const dir of ["/run/tsbuild", HOST_DIR]) {
      const info = lstatSync(dir);
      if (!info.isDirectory() || info.uid !== 0 || (info.mode & 0o022) !== 0) return own;
    }
    return HOST_DIR;
  } catch {
    // No writable /run (a container, a read-only host): the root's own directory serves.
    return own;
  }
}
