import { open, readFile } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import type { OutputStream } from "../executor/types.js";
import { openContainerRuntime } from "../executor/container-runtime.js";
import type { Worker } from "../worker/worker.js";
import { containerPaths, findContainer } from "./container-record.js";
import { containerState } from "./container-state.js";

/** One line of a container's log, as docker's json-file driver keeps it. */
export interface LogEntry {
  stream: OutputStream;
  /** The bytes the process wrote (one write, or part of one). */
  log: string;
  time: string;
}

export interface ContainerLogsOptions {
  /** Keep reading until the container stops (docker's -f). */
  follow?: boolean;
  /** Only the last N lines of output. */
  tail?: number;
  signal?: AbortSignal;
}

/**
 * docker's `logs`: the container's output from its log, in order, each chunk with its
 * stream. Following polls the log (it is written by the shim, another process) until the
 * container is no longer running and the log has been read to its end.
 */
export async function* containerLogs(worker: Worker, text: string, options: ContainerLogsOptions = {}): AsyncGenerator<LogEntry> {
  const record = await findContainer(worker, text);
  const path = containerPaths(worker.root, record.id).log;
  const all = parseLog(await readFile(path, "utf8").catch(() => ""));
  let offset = Buffer.byteLength(all.text);
  yield* options.tail === undefined ? all.entries : lastLines(all.entries, options.tail);
  if (options.follow !== true) return;
  const { runtime } = await openContainerRuntime(worker.root);
  for (;;) {
    const running = (await containerState(record, { root: worker.root, runtime })).running;
    const handle = await open(path, "r").catch(() => undefined);
    if (handle !== undefined) {
      try {
        const { size } = await handle.stat();
        if (size > offset) {
          const buffer = Buffer.alloc(size - offset);
          await handle.read(buffer, 0, buffer.length, offset);
          const chunk = parseLog(buffer.toString("utf8"));
          offset += Buffer.byteLength(chunk.text);
          yield* chunk.entries;
        }
      } finally {
        await handle.close();
      }
    }
    if (!running || options.signal?.aborted === true) return;
    await sleep(50);
  }
}

/** Whole lines only: a line the shim is still writing is read next time. */
function parseLog(text: string): { entries: LogEntry[]; text: string } {
  const end = text.lastIndexOf("\n") + 1;
  const complete = text.slice(0, end);
  const entries: LogEntry[] = [];
  for (const line of complete.split("\n")) {
    if (line === "") continue;
    try {
      entries.push(JSON.parse(line) as LogEntry);
    } catch {
      // a torn line of a killed shim
    }
  }
  return { entries, text: complete };
}

/** The entries that hold the last `count` lines of output (split at line ends, per stream as written). */
function lastLines(entries: LogEntry[], count: number): LogEntry[] {
  const lines: LogEntry[] = [];
  for (const entry of entries) {
    const parts = entry.log.split(/(?<=\n)/);
    for (const part of parts) {
      const last = lines[lines.length - 1];
      if (last !== undefined && !last.log.endsWith("\n") && last.stream === entry.stream) last.log += part;
      else lines.push({ ...entry, log: part });
    }
  }
  return count <= 0 ? [] : lines.slice(-count);
}
