import { build, type BuildOptions, type BuildResult } from "./build.js";
import type { ProgressEvent } from "../solver/types.js";

/** A build whose progress is read as an async iterator instead of a listener. */
export interface BuildRun {
  /** Every progress event, in order; ends when the build ends (either way). Leaving the loop early cancels the build. */
  events: AsyncIterable<ProgressEvent>;
  /** The build's result; rejects with its failure. */
  result: Promise<BuildResult>;
}

export interface BuildWithEventsOptions extends Omit<BuildOptions, "onProgress"> {
  /**
   * How many log and progress events wait for a slow reader before newer ones are dropped
   * (a `warning` with code `events-dropped` says so, once). Step, warning and result events
   * are never dropped: there are as many as the graph has steps. Default 10,000.
   */
  maxQueuedEvents?: number;
}

/** Events that may be dropped when the reader falls behind: they are many, and the next one supersedes them. */
const LOSSY: ReadonlySet<ProgressEvent["type"]> = new Set(["vertex-log", "vertex-progress", "phase-progress"]);

/**
 * `build()` with its events as an async iterator. Events wait in a bounded queue until read;
 * `break`ing out of the loop (or the iterator's `return()`) cancels the build, and `result`
 * then rejects with a CANCELLED error.
 *
 * @example
 * const run = buildWithEvents({ context: "." });
 * for await (const event of run.events) if (event.type === "vertex-cached") console.log(event.name);
 * const { imageId } = await run.result;
 */
export function buildWithEvents(options: BuildWithEventsOptions): BuildRun {
  const { maxQueuedEvents = 10_000, ...buildOptions } = options;
  const queue: ProgressEvent[] = [];
  let lossyQueued = 0;
  let dropped = false;
  let wake: (() => void) | undefined;
  let done = false;
  const abort = new AbortController();
  const signal = options.signal === undefined ? abort.signal : AbortSignal.any([options.signal, abort.signal]);
  const push = (event: ProgressEvent) => {
    if (LOSSY.has(event.type)) {
      if (lossyQueued >= maxQueuedEvents) {
        if (!dropped) queue.push({ type: "warning", code: "events-dropped", message: "Progress events were dropped: the reader fell behind", location: undefined });
        dropped = true;
        return;
      }
      lossyQueued += 1;
    }
    queue.push(event);
    wake?.();
  };
  const result = build({ ...buildOptions, signal, onProgress: push }).finally(() => {
    done = true;
    wake?.();
  });
  // The caller handles `result`; this keeps an unread rejection from crashing the process.
  result.catch(() => undefined);
  async function* events(): AsyncGenerator<ProgressEvent> {
    try {
      for (;;) {
        while (queue.length > 0) {
          const event = queue.shift()!;
          if (LOSSY.has(event.type)) lossyQueued -= 1;
          yield event;
        }
        if (done) return;
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    } finally {
      // The reader left before the end: nobody is watching this build any more.
      if (!done) abort.abort("the reader of the build's events stopped reading");
    }
  }
  return { events: events(), result };
}
