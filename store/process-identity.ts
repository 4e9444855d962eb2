import { readFileSync } from "node:fs";
import { TsbuildError } from "../errors.js";

/**
 * A process as lock and ingest files record it: its pid plus its start time (clock ticks
 * since boot, field 22 of /proc/<pid>/stat). The pair stays unique even when the kernel
 * reuses a pid, and a reboot changes every start time, so a recorded owner can be judged
 * alive or gone without signals.
 */
export interface ProcessIdentity {
  pid: number;
  startTime: number;
}

/** The start time of `pid`, or undefined when no such process runs (or it is a zombie). */
export function readProcessStartTime(pid: number): number | undefined {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // The command name (field 2) may contain spaces and parentheses: parse after the last ")".
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // fields[0] is field 3 (state); a zombie has exited and only waits to be reaped.
  if (fields[0] === "Z" || fields[0] === "X") return undefined;
  const startTime = Number(fields[19]);
  return Number.isFinite(startTime) ? startTime : undefined;
}

let self: ProcessIdentity | undefined;

/** This process's identity. */
export function currentProcess(): ProcessIdentity {
  if (self === undefined || self.pid !== process.pid) {
    const startTime = readProcessStartTime(process.pid);
    if (startTime === undefined) {
      throw new TsbuildError("SYSTEM", `Cannot read "/proc/${process.pid}/stat": locks need a mounted /proc`);
    }
    self = { pid: process.pid, startTime };
  }
  return self;
}

/** True while the process `identity` names still runs. */
export function isProcessAlive(identity: ProcessIdentity): boolean {
  return readProcessStartTime(identity.pid) === identity.startTime;
}

/** The identity as a file-name-safe token: `<pid>-<startTime>`. */
export function formatProcessToken(identity: ProcessIdentity): string {
  return `${identity.pid}-${identity.startTime}`;
}

/** Parses `<pid>-<startTime>` at the start of `text` (as `formatProcessToken` writes it). */
export function parseProcessToken(text: string): ProcessIdentity | undefined {
  const match = /^(\d+)-(\d+)(?:$|[^\d])/.exec(text);
  if (match === null) return undefined;
  return { pid: Number(match[1]), startTime: Number(match[2]) };
}
