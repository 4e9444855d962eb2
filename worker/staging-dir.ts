import { randomBytes } from "node:crypto";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { currentProcess, formatProcessToken } from "../store/process-identity.js";

/**
 * Scratch directories for archives being read and layers being staged, under `<root>/tmp/`
 * (on the store's file system, not a small tmpfs) and named after the process that owns
 * them, so that what a killed process left is recognised and removed by the next one
 * (worker/reclaim-leftovers.ts).
 */

/** `<root>/tmp`. */
export function stagingRoot(root: string): string {
  return join(root, "tmp");
}

/** A fresh directory `<root>/tmp/<pid>-<start>-<what>-<random>` owned by this process. */
export async function makeStagingDir(root: string, what: string): Promise<string> {
  const dir = join(stagingRoot(root), `${formatProcessToken(currentProcess())}-${what}-${randomBytes(6).toString("hex")}`);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  return dir;
}
