import { TsbuildError } from "../errors.js";

/** docker's `--restart`: when the shim starts the container's process again after it exits. */
export interface RestartPolicy {
  name: "no" | "on-failure" | "always" | "unless-stopped";
  /** `on-failure:N`: at most N restarts; 0 is no limit. */
  maximumRetryCount: number;
}

/** Parses `no`, `on-failure[:N]`, `always` or `unless-stopped`. */
export function parseRestartPolicy(text: string): RestartPolicy {
  const [name, count, ...rest] = text.split(":");
  const fail = () =>
    new TsbuildError("USAGE", `Cannot parse --restart "${text}"`, { hint: "Use no, on-failure[:MAX-RETRIES], always or unless-stopped" });
  if (rest.length > 0) throw fail();
  if (name === "on-failure") {
    if (count !== undefined && !/^\d+$/.test(count)) throw fail();
    return { name, maximumRetryCount: count === undefined ? 0 : Number(count) };
  }
  if ((name === "no" || name === "always" || name === "unless-stopped") && count === undefined) return { name, maximumRetryCount: 0 };
  throw fail();
}

/**
 * Whether the shim restarts a container that exited with `exitCode` after `restarts`
 * restarts. A container stopped by `stop`, `kill` or `rm -f` is never restarted; docker
 * restarts `always` ones again only when its daemon starts, and tsbuild has none.
 */
export function shouldRestart(policy: RestartPolicy | undefined, options: { exitCode: number; restarts: number; stopRequested: boolean }): boolean {
  if (policy === undefined || policy.name === "no" || options.stopRequested) return false;
  if (policy.name === "on-failure") {
    return options.exitCode !== 0 && (policy.maximumRetryCount === 0 || options.restarts < policy.maximumRetryCount);
  }
  return true;
}

/** docker's back-off before a restart: 100 ms, doubled each time, at most a minute; a run of 10 s or more starts over. */
export function restartDelayMs(previousDelayMs: number, ranForMs: number): number {
  if (ranForMs >= 10_000 || previousDelayMs === 0) return 100;
  return Math.min(previousDelayMs * 2, 60_000);
}
