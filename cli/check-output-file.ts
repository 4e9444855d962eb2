import { access, constants } from "node:fs/promises";
import { dirname } from "node:path";
import { TsbuildError } from "../errors.js";
import { statIfExists } from "../util/stat-if-exists.js";

/**
 * Checks, before any work, that a file a flag names (`--iidfile`, `--metadata-file`) can be
 * written: its directory exists and may be written, and the path is not a directory. Found
 * only after the build, the mistake would cost the whole build and print a stack.
 */
export async function checkOutputFile(flag: string, path: string): Promise<void> {
  const existing = await statIfExists(path);
  if (existing?.isDirectory() === true) {
    throw new TsbuildError("USAGE", `Cannot use ${flag} "${path}": it is a directory`, { hint: `Give a file name, e.g. ${flag} ${path.replace(/\/$/, "")}/out` });
  }
  const parent = dirname(path);
  const directory = await statIfExists(parent);
  if (directory === undefined || !directory.isDirectory()) {
    throw new TsbuildError("FILE_NOT_FOUND", `Cannot use ${flag} "${path}": directory "${parent}" does not exist`, { hint: `Create it first: mkdir -p ${parent}` });
  }
  await access(existing === undefined ? parent : path, constants.W_OK).catch((error: unknown) => {
    throw new TsbuildError("PERMISSION_DENIED", `Cannot use ${flag} "${path}": it cannot be written`, { cause: error });
  });
}
