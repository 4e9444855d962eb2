import { randomBytes } from "node:crypto";
import { access, constants, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { TsbuildError } from "../errors.js";
import { errnoOf, systemError } from "../util/system-error.js";
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
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    // mkdir -p on a read-only root reports the missing parent (ENOENT), not the reason.
    const readOnly = await access(root, constants.W_OK).then(
      () => false,
      (reason: unknown) => errnoOf(reason) === "EROFS",
    );
    if (readOnly) throw new TsbuildError("READ_ONLY", `Cannot change the store at "${root}": it is on a read-only file system`, { cause: error });
    throw systemError(error, `Cannot create a staging directory in "${stagingRoot(root)}"`);
  }
  return dir;
}
