import type { Writable } from "node:stream";
import { BuildFailure } from "../../solver/build-failure.js";
import type { ProgressEvent } from "../../solver/types.js";
import { codeFrame } from "../code-frame.js";
import { byteStatus, isCancellation, seconds, type ProgressRenderer, type ProgressRendererOptions } from "./progress-renderer.js";

/** The phase the image exporter reports; its lines end with the image's id and names. */
const EXPORT_PHASE = "exporting to image";

/** BuildKit's plain progress: `#N [stage 1/3] RUN ...`, its output, then `#N DONE 0.3s`, `#N CACHED`, `#N ERROR: …` or `#N CANCELED`. */
export class PlainProgress implements ProgressRenderer {
  readonly #out: Writable;
  readonly #options: ProgressRendererOptions;
  readonly #partial = new Map<number, string>();
  /** Export, push and cache phases: their step number and start. */
  readonly #phases = new Map<string, { step: number; started: number; durationMs?: number; shown: Map<string, number> }>();
  #steps = 0;

  constructor(out: Writable, options: ProgressRendererOptions) {
    this.#out = out;
    this.#options = options;
  }

  event(event: ProgressEvent): void {
    switch (event.type) {
      case "phase-progress": {
        // `#N exporting to image` ... `#N DONE 0.4s`, as BuildKit shows them.
        const phase = this.#phases.get(event.name);
        if (event.progress.action === "start" && phase === undefined) {
          this.#steps += 1;
          this.#phases.set(event.name, { step: this.#steps, started: performance.now(), shown: new Map() });
          this.#write(`#${this.#steps} ${event.name}`);
        } else if (event.progress.unit === "bytes" && phase !== undefined) {
          // BuildKit's status lines: `#14 exporting layers 215MB / 215MB 0.8s done`, at most
          // one a second for each part until it is done.
          const now = performance.now();
          if (event.progress.done !== true && now - (phase.shown.get(event.progress.id) ?? -Infinity) < 1000) break;
          phase.shown.set(event.progress.id, now);
          this.#write(`#${phase.step} ${event.progress.id} ${byteStatus(event.progress)} ${seconds(now - phase.started)}${event.progress.done === true ? " done" : ""}`);
        } else if (event.progress.action === "done" && phase !== undefined) {
          phase.durationMs = performance.now() - phase.started;
          // The image's own lines come with finish(), before its DONE.
          if (event.name !== EXPORT_PHASE) this.#write(`#${phase.step} DONE ${seconds(phase.durationMs)}`);
        }
        break;
      }
      case "vertex-started":
        this.#steps = Math.max(this.#steps, event.step);
        this.#write(`#${event.step} ${event.name}`);
        if (event.missReason !== undefined) this.#write(`#${event.step} cache miss: ${event.missReason.message}`);
        break;
      case "vertex-cached":
        this.#steps = Math.max(this.#steps, event.step);
        this.#write(`#${event.step} ${event.name}`);
        this.#write(`#${event.step} CACHED`);
        break;
      case "vertex-log": {
        // Whole lines only, so the output of steps running side by side does not interleave mid-line.
        const text = (this.#partial.get(event.step) ?? "") + event.data.toString("utf8");
        const lines = text.split("\n");
        this.#partial.set(event.step, lines.pop()!);
        for (const line of lines) this.#write(`#${event.step} ${line}`);
        break;
      }
      case "vertex-completed":
        this.#flush(event.step);
        this.#write(`#${event.step} DONE ${seconds(event.durationMs)}`);
        break;
      case "vertex-failed":
        this.#flush(event.step);
        if (isCancellation(event.error)) this.#write(`#${event.step} CANCELED`);
        else this.#write(`#${event.step} ERROR: ${(event.error.cause as Error | undefined)?.message ?? event.error.message}`);
        break;
      case "warning": {
        if (!this.#options.warnings) break;
        const at = event.location === undefined ? "" : ` (${event.location.file}:${event.location.range.start.line})`;
        this.#write(`WARNING: ${event.message}${at}`);
        break;
      }
      case "steps-planned":
      case "vertex-progress":
      case "result":
        break;
    }
  }

  finish({ names, imageId, durationMs }: { names: readonly string[]; imageId: string; durationMs: number }): void {
    const exported = this.#phases.get(EXPORT_PHASE);
    const step = exported?.step ?? this.#steps + 1;
    if (exported === undefined) this.#write(`#${step} ${EXPORT_PHASE}`);
    this.#write(`#${step} writing image ${imageId} done`);
    for (const name of names) this.#write(`#${step} naming to ${name} done`);
    this.#write(`#${step} DONE ${seconds(exported?.durationMs ?? durationMs)}`);
  }

  fail(error: unknown, source: string | undefined): void {
    if (error instanceof BuildFailure && !isCancellation(error)) this.#out.write(failureReport(error, source));
  }

  #flush(step: number): void {
    const rest = this.#partial.get(step);
    if (rest) this.#write(`#${step} ${rest}`);
    this.#partial.delete(step);
  }

  #write(line: string): void {
    this.#out.write(`${line}\n`);
  }
}

/** The failing step, its log's tail, and its Dockerfile line in a code frame, as buildx prints them. */
export function failureReport(error: BuildFailure, source: string | undefined): string {
  const lines: string[] = [];
  if (error.logTail) lines.push("------", ` > ${error.step.name}:`, ...error.logTail.replace(/\n$/, "").split("\n"), "------");
  const location = error.step.location;
  if (location !== undefined && source !== undefined) {
    lines.push(`${location.file}:${location.range.start.line}`, "--------------------");
    lines.push(codeFrame(source, { line: location.range.start.line, column: location.range.start.column, endLine: location.range.end.line }));
    lines.push("--------------------");
  }
  if (error.exitCode !== undefined) lines.push(`exit status: ${error.exitCode}`);
  return lines.length === 0 ? "" : `${lines.join("\n")}\n`;
}
