import { build, type BuildOptions, type BuildResult } from "./build.js";
import type { ProgressEvent } from "./types.js";

/** A build whose progress is read as an async iterator instead of a listener. */
export interface BuildRun {
  /** Every progress event, in order; ends when the build ends (either way). */
  events: AsyncIterable<ProgressEvent>;
  /** The build's result; rejects with its failure. */
  result: Promise<BuildResult>;
}

/**
 * `build()` with its events as an async iterator. Events are buffered until read, so a
 * slow reader loses none; the iterator ends after the last one.
 *
 * @example
 * const run = buildWithEvents({ context: "." });
 * for await (const event of run.events) if (event.type === "vertex-cached") console.log(event.name);
 * const { imageId } = await run.result;
 */
export function buildWithEvents(options: Omit<BuildOptions, "onProgress">): BuildRun {
  const queue: ProgressEvent[] = [];
  let wake: (() => void) | undefined;
  let done = false;
  const result = build({
    ...options,
    onProgress: (event) => {
      queue.push(event);
      wake?.();
    },
  }).finally(() => {
    done = true;
    wake?.();
  });
  // The caller handles `result`; this keeps an unread rejection from crashing the process.
  result.catch(() => undefined);
  async function* events(): AsyncGenerator<ProgressEvent> {
    for (;;) {
      while (queue.length > 0) yield queue.shift()!;
      if (done) return;
      await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
    }
  }
  return { events: events(), result };
}
