import type { Writable } from "node:stream";
import type { ProgressRenderer } from "./progress-renderer.js";

/** `--progress json`: every event as one JSON object a line; errors as their message, logs as text. */
export function jsonProgress(out: Writable): ProgressRenderer {
  return {
    event(event) {
      const record: Record<string, unknown> = { ...event, time: new Date().toISOString() };
      if (event.type === "vertex-log") record.data = event.data.toString("utf8");
      if (event.type === "vertex-failed") record.error = event.error.message;
      out.write(`${JSON.stringify(record)}\n`);
    },
    finish() {
      // The result is on stdout (-q) or in --metadata-file; the events said the rest.
    },
    fail() {
      // The failure is the last vertex-failed event; the CLI prints the error itself.
    },
  };
}
