/**
 * `Promise.all` for the two ends of one stream (a writer and the store reading it): waits
 * for both, and when they fail throws the cause rather than the echo. When the store's write
 * fails with ENOSPC, the writer's pipeline fails too, with "The operation was aborted", and
 * often first; `Promise.all` would report that and hide the full disk.
 *
 * `onFailure` runs at the first failure and must make the other end settle (destroy the
 * stream between them): otherwise a reader whose writer died would wait for ever.
 */
export async function settleAll<T extends readonly unknown[]>(
  promises: { [K in keyof T]: Promise<T[K]> },
  onFailure: (reason: unknown) => void,
): Promise<T> {
  let failed = false;
  const watched = promises.map((promise: Promise<unknown>) =>
    promise.catch((reason: unknown) => {
      if (!failed) {
        failed = true;
        onFailure(reason);
      }
      throw reason;
    }),
  );
  const results = await Promise.allSettled(watched);
  const failures = results.filter((result): result is PromiseRejectedResult => result.status === "rejected").map((result) => result.reason as unknown);
  if (failures.length > 0) throw failures.find((reason) => !isEcho(reason)) ?? failures[0];
  return results.map((result) => (result as PromiseFulfilledResult<unknown>).value) as unknown as T;
}

/** An error that only says a stream was cut because something else failed. */
function isEcho(reason: unknown): boolean {
  for (let current = reason, depth = 0; typeof current === "object" && current !== null && depth < 8; depth++) {
    const { code, name } = current as { code?: unknown; name?: unknown };
    if (code === "ABORT_ERR" || code === "ERR_STREAM_PREMATURE_CLOSE" || code === "ERR_STREAM_DESTROYED" || name === "AbortError") return true;
    if (typeof code === "string" && code.startsWith("E") && code !== "ECANCELED") return false;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}
