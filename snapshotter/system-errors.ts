import { isTsbuildError, TsbuildError } from "../errors.js";

/**
 * Runs `fn` and turns any error that is not already a TsbuildError (EACCES, ENOSPC, EIO from
 * the file system) into a SYSTEM error starting with `what`, so that callers see one kind.
 */
export async function withSystemErrors<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (isTsbuildError(error)) throw error;
    const detail = error instanceof Error ? error.message : String(error);
    throw new TsbuildError("SYSTEM", `${what}: ${detail}`, { cause: error });
  }
}
