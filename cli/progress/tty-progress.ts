import type { Writable } from "node:stream";
import type { ChalkInstance } from "chalk";
import { BuildFailure } from "../../solver/build-failure.js";
import type { ProgressEvent } from "../../solver/types.js";
import { failureReport } from "./plain-progress.js";
import { byteStatus, isCancellation, seconds, type ProgressRenderer, type ProgressRendererOptions } from "./progress-renderer.js";

interface TtyStep {
  name: string;
  state: "running" | "done" | "cached" | "failed" | "cancelled";
  started: number;
  durationMs: number;
  lines: string[];
  partial: string;
  missReason: string | undefined;
  /** A phase's parts counted in bytes (layers diffed, blobs pushed): id → `120.5MB / 215MB`. */
  statuses?: Map<string, string>;
}

/** How many lines of a running step's output the live view shows. */
const TAIL_LINES = 5;

/** The word before a finished step's name, as docker's view marks it. */
const MARKS: Record<TtyStep["state"], string> = { running: "", done: "", cached: "CACHED ", failed: "ERROR ", cancelled: "CANCELED " };

/**
 * The live view on a terminal, as docker's: `[+] Building 2.1s (3/7)` with a total fixed
 * from the start (the solver plans the steps before it runs any), a line per step with its
 * mark (CACHED, ERROR, CANCELED) and time at the right edge, and the last lines of each
 * running step, redrawn in place (at most ten times a second) with ANSI cursor moves.
 */
export class TtyProgress implements ProgressRenderer {
  readonly #out: Writable;
  readonly #chalk: ChalkInstance;
  readonly #options: ProgressRendererOptions;
  readonly #steps = new Map<string, TtyStep>();
  readonly #warnings: string[] = [];
  readonly #started = performance.now();
  #planned: number | undefined;
  /** Export, push and cache phases: drawn after the steps, not counted in the total (docker's count is of steps). */
  readonly #phases = new Map<string, TtyStep>();
  #finished = false;
  #drawn = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(out: Writable, chalk: ChalkInstance, options: ProgressRendererOptions) {
    this.#out = out;
    this.#chalk = chalk;
    this.#options = options;
    this.#timer = setInterval(() => this.#draw(), 100);
    this.#timer.unref();
  }

  event(event: ProgressEvent): void {
    if (event.type === "warning") {
      if (this.#options.warnings) this.#warnings.push(event.message);
      return;
    }
    if (event.type === "steps-planned") {
      this.#planned = event.steps.length;
      return;
    }
    if (event.type === "result" || event.type === "vertex-progress") return;
    if (event.type === "phase-progress") {
      // Export, push and cache phases are shown as steps after the build's own.
      let phase = this.#phases.get(event.name);
      if (phase === undefined) {
        phase = { name: event.name, state: "running", started: performance.now(), durationMs: 0, lines: [], partial: "", missReason: undefined };
        this.#phases.set(event.name, phase);
      }
      if (event.progress.unit === "bytes") (phase.statuses ??= new Map()).set(event.progress.id, byteStatus(event.progress));
      else if (event.progress.action === "done") Object.assign(phase, { state: "done", durationMs: performance.now() - phase.started });
      return;
    }
    let step = this.#steps.get(event.vertex);
    if (step === undefined) {
      step = { name: event.name, state: "running", started: performance.now(), durationMs: 0, lines: [], partial: "", missReason: undefined };
      this.#steps.set(event.vertex, step);
    }
    if (event.type === "vertex-started") step.missReason = event.missReason?.message;
    else if (event.type === "vertex-cached") step.state = "cached";
    else if (event.type === "vertex-completed") Object.assign(step, { state: "done", durationMs: event.durationMs });
    else if (event.type === "vertex-failed") Object.assign(step, { state: isCancellation(event.error) ? "cancelled" : "failed", durationMs: event.durationMs });
    else if (event.type === "vertex-log") {
      const lines = (step.partial + event.data.toString("utf8")).split("\n");
      step.partial = lines.pop()!;
      step.lines.push(...lines);
      if (step.lines.length > TAIL_LINES) step.lines.splice(0, step.lines.length - TAIL_LINES);
    }
  }

  finish({ names, imageId, durationMs }: { names: readonly string[]; imageId: string; durationMs: number }): void {
    this.#finished = true;
    this.#stop();
    const c = this.#chalk;
    this.#out.write(`${c.blue(` => writing image ${c.dim(imageId.slice(0, 19))}`)}\n`);
    for (const name of names) this.#out.write(`${c.blue(` => naming to ${name}`)}\n`);
    this.#out.write(`${c.green(`Built in ${seconds(durationMs)}`)}\n`);
  }

  fail(error: unknown, source: string | undefined): void {
    this.#stop();
    if (error instanceof BuildFailure && !isCancellation(error)) this.#out.write(failureReport(error, source));
  }

  /** Stops redrawing, leaving the last frame on the screen, then the warnings. */
  #stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#draw();
    for (const warning of this.#warnings.splice(0)) this.#out.write(`${this.#chalk.yellow(`WARNING: ${warning}`)}\n`);
  }

  #columns(): number {
    return (this.#out as { columns?: number }).columns ?? 120;
  }

  /** Cuts `text` so it and `reserved` more columns fit one terminal line: a wrapped line would break the redraw. */
  #fit(text: string, reserved: number): string {
    const room = Math.max(10, this.#columns() - 1 - reserved);
    const flat = text.replace(/[\x00-\x1f\x7f]/g, " ");
    return flat.length > room ? `${flat.slice(0, room - 1)}…` : flat;
  }

  #draw(): void {
    const c = this.#chalk;
    const now = performance.now();
    const steps = [...this.#steps.values()];
    // Steps the output did not need to look at (below a cached one) are done when the build is.
    const total = Math.max(this.#planned ?? 0, steps.length);
    const finished = this.#finished ? total : steps.filter((step) => step.state !== "running").length;
    // No count before the solver has planned the steps: a count that grows would mislead.
    const count = this.#planned === undefined && steps.length === 0 ? "" : ` (${finished}/${total})`;
    const lines = [c.bold(`[+] Building ${seconds(now - this.#started)}${count}${this.#finished ? " FINISHED" : ""}`)];
    for (const step of [...steps, ...this.#phases.values()]) {
      const time = seconds(step.state === "running" ? now - step.started : step.durationMs);
      const text = this.#fit(` => ${MARKS[step.state]}${step.name}`, time.length + 1);
      const line = `${text.padEnd(Math.max(0, this.#columns() - 2 - time.length))} ${time}`;
      const colour = step.state === "failed" ? c.red : step.state === "running" ? c.blue : step.state === "done" ? (s: string) => s : c.dim;
      lines.push(colour(line));
      for (const [id, status] of [...(step.statuses ?? [])].slice(-TAIL_LINES)) lines.push(c.dim(this.#fit(` => => ${id} ${status}`, 0)));
      if (step.state === "running") {
        if (step.missReason !== undefined) lines.push(c.dim(this.#fit(` => => cache miss: ${step.missReason}`, 0)));
        for (const log of [...step.lines, ...(step.partial ? [step.partial] : [])].slice(-TAIL_LINES)) lines.push(c.dim(this.#fit(` => => # ${log}`, 0)));
      }
    }
    // Back to the top of the last frame, clear it, draw the new one.
    const up = this.#drawn > 0 ? `\x1b[${this.#drawn}F\x1b[J` : "";
    this.#out.write(`${up}${lines.join("\n")}\n`);
    this.#drawn = lines.length;
  }
}
