import { closeSync, openSync, readFileSync, readSync } from "node:fs";

/**
 * Files up to this size are read with synchronous calls: a file a build just wrote or is
 * about to hash is nearly always in the page cache, where open, read and close take
 * microseconds each, less than three hops through Node's thread pool (20,000 small files:
 * a quarter to a third of the time). Larger files go through streams.
 */
export const SMALL_FILE_SYNC = 64 * 1024;

/**
 * Reads the start of the file at `path` into `buffer` at `offset`, at most `limit` bytes
 * (stopping early at its end), with synchronous calls; returns how many bytes came. Callers
 * pass one more than they expect, to see a file that grew.
 */
export function readStartSync(path: string, buffer: Buffer, offset: number, limit: number): number {
  const fd = openSync(path, "r");
  try {
    let filled = 0;
    while (filled < limit) {
      const count = readSync(fd, buffer, offset + filled, limit - filled, filled);
      if (count === 0) break;
      filled += count;
    }
    return filled;
  } finally {
    closeSync(fd);
  }
}

/**
 * A small file (a /proc file, a runtime's log, a kept probe or program) read with one
 * synchronous call, or undefined when it cannot be read (missing or unreadable: the callers'
 * "nothing there"): for what a RUN reads on its way, where a hop through the thread pool
 * costs more than the read.
 */
export function readIfReadableSync(path: string): Buffer | undefined {
  try {
    return readFileSync(path);
  } catch {
    return undefined;
  }
}

/** `readIfReadableSync` as text, "" when the file cannot be read. */
export function readTextOrEmptySync(path: string): string {
  return readIfReadableSync(path)?.toString("utf8") ?? "";
}
