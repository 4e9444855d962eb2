import { systemError } from "../util/system-error.js";

/**
 * Runs `fn` and turns any error that is not already a TsbuildError (EACCES, ENOSPC, EIO from
 * the file system) into a coded error starting with `what` (DISK_FULL for ENOSPC, READ_ONLY
 * for EROFS, else SYSTEM: see util/system-error.ts), so that callers see one kind.
 */
export async function withSystemErrors<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    throw systemError(error, what);
  }
}
