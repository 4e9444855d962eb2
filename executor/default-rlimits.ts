import { readTextOrEmptySync } from "../util/read-small-file.js";
import type { RuntimeRlimit } from "./runtime-spec.js";

/** Open files Docker containers get on a systemd host (dockerd's LimitNOFILE), and the kernel's default fs.nr_open. */
export const DOCKER_NOFILE = 1048576;

/**
 * RLIMIT_NOFILE like Docker's, but never above this process's own hard limit: raising it
 * needs CAP_SYS_RESOURCE, which a tsbuild running inside a container often lacks, and the
 * runtime would then fail every start with "setrlimit: operation not permitted".
 */
export async function defaultRlimits(limitsPath = "/proc/self/limits"): Promise<RuntimeRlimit[]> {
  const text = readTextOrEmptySync(limitsPath);
  const hard = parseHardLimit(text, "Max open files");
  const nofile = hard === undefined ? DOCKER_NOFILE : Math.min(DOCKER_NOFILE, hard);
  return [{ type: "RLIMIT_NOFILE", soft: nofile, hard: nofile }];
}

/** The hard value of one row of /proc/<pid>/limits; undefined when missing, Infinity for "unlimited". */
export function parseHardLimit(text: string, name: string): number | undefined {
  for (const line of text.split("\n")) {
    if (!line.startsWith(name)) continue;
    const fields = line.slice(name.length).trim().split(/\s+/);
    const hard = fields[1];
    if (hard === "unlimited") return Infinity;
    const value = Number(hard);
    return Number.isFinite(value) ? value : undefined;
  }
  return undefined;
}
