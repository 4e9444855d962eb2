import { TsbuildError } from "../errors.js";

/**
 * The CANCELLED error of work stopped by `signal`. The caller's abort reason is kept as the
 * error's `cause` and, when it says something (a string, or an Error other than the default
 * AbortError), at the end of the message: `The build was cancelled: deploy superseded`.
 */
export function cancelledError(message: string, signal: AbortSignal | undefined, cause?: unknown): TsbuildError {
  const reason: unknown = signal?.aborted ? signal.reason : undefined;
  const text = typeof reason === "string" ? reason : reason instanceof Error && reason.name !== "AbortError" ? reason.message : undefined;
  return new TsbuildError("CANCELLED", text === undefined || text === "" ? message : `${message}: ${text}`, { cause: reason ?? cause });
}
