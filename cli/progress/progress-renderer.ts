import type { Writable } from "node:stream";
import { isTsbuildError } from "../../errors.js";
import type { OperationProgress, ProgressEvent } from "../../solver/types.js";
import { humanSize } from "../../worker/human-units.js";

/** What `build` shows while it runs, in one of BuildKit's styles (`--progress`). */
export interface ProgressRenderer {
  event(event: ProgressEvent): void;
  /** The build succeeded: the export lines and the total time. */
  finish(result: { names: readonly string[]; imageId: string; durationMs: number }): void;
  /** The build failed or was cancelled: ends the live view; a failed step gets its log tail and line. */
  fail(error: unknown, source: string | undefined): void;
}

export interface ProgressRendererOptions {
  /** False under --log-level error or fatal: warnings are not shown. */
  warnings: boolean;
}

/** `--progress tty|plain|json`; the tty view loads chalk, which nothing else needs. */
export async function createProgressRenderer(mode: "tty" | "plain" | "json", out: Writable, options: ProgressRendererOptions): Promise<ProgressRenderer> {
  if (mode === "json") return (await import("./json-progress.js")).jsonProgress(out);
  if (mode === "plain") return new (await import("./plain-progress.js")).PlainProgress(out, options);
  const chalk = (await import("chalk")).default;
  return new (await import("./tty-progress.js")).TtyProgress(out, chalk, options);
}

/** True when a step (or the build) ended because it was cancelled, not because it failed. */
export function isCancellation(error: unknown): boolean {
  return isTsbuildError(error, "CANCELLED") || isTsbuildError((error as { cause?: unknown } | undefined)?.cause, "CANCELLED");
}

/** BuildKit's durations: seconds with one decimal. */
export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

/** Bytes done, and of how many when that is known: `120.5MB / 215MB`, as docker's views print them. */
export function byteStatus(progress: OperationProgress): string {
  return progress.total === undefined ? humanSize(progress.current) : `${humanSize(progress.current)} / ${humanSize(progress.total)}`;
}
