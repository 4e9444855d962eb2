import { chown, mkdir } from "node:fs/promises";
import { TsbuildError } from "../errors.js";
import { resolveInRoot } from "./resolve-in-root.js";
import { lstatIfExists } from "../util/stat-if-exists.js";

export interface EnsureWorkdirOptions {
  uid: number;
  gid: number;
}

/**
 * Creates the working directory inside the rootfs when missing, each created directory
 * owned by the process's user, as BuildKit does for WORKDIR and RUN. These directories
 * are meant to stay: they belong to the step's layer.
 */
export async function ensureWorkdir(rootfs: string, cwd: string, options: EnsureWorkdirOptions): Promise<void> {
  const parts = cwd.split("/").filter((p) => p !== "" && p !== ".");
  for (let i = 1; i <= parts.length; i++) {
    const hostPath = await resolveInRoot(rootfs, "/" + parts.slice(0, i).join("/"));
    const stat = await lstatIfExists(hostPath);
    if (stat !== undefined) {
      if (!stat.isDirectory()) {
        throw new TsbuildError("EXEC_FAILED", `Cannot use "${cwd}" as working directory: "/${parts.slice(0, i).join("/")}" is not a directory`);
      }
      continue;
    }
    await mkdir(hostPath, { mode: 0o755 });
    await chown(hostPath, options.uid, options.gid);
  }
}
