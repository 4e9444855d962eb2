import { writeSync } from "node:fs";

/**
 * Deterministic kill points for crash tests. A test that wants to know the store survives a
 * SIGKILL at any moment cannot time the kill (a faster machine finishes first, a slower one
 * never gets there), so it asks the process to kill itself at a named point instead:
 * `TSBUILD_CRASH_AT=N` makes the N-th `crashPoint()` reached SIGKILL the process, and a
 * process that would end before reaching it is killed at its exit instead, so every run
 * asked to die does die, at the same place on every machine.
 *
 * `TSBUILD_CRASH_AT=<name>` (or `<name>#K`) kills at the first (K-th) point of that name
 * instead, for a test that wants one exact place (mid-RUN, with its secret mounted)
 * whatever the number of points before it.
 *
 * The variable is read once, when the CLI starts, and removed from the environment so the
 * processes tsbuild starts (shims, runtimes) do not inherit it. Unset, a point costs one
 * comparison.
 */

const VARIABLE = "TSBUILD_CRASH_AT";

let target = 0;
let reached = 0;
let targetName: string | undefined;
let namedTarget = 0;
let namedReached = 0;

/** Reads and removes `TSBUILD_CRASH_AT`; called once at CLI start-up. */
export function armCrashPoints(env: NodeJS.ProcessEnv = process.env): void {
  const value = env[VARIABLE];
  if (value === undefined) return;
  delete env[VARIABLE];
  reached = 0;
  namedReached = 0;
  const named = /^([a-z][\w.-]*)(?:#(\d+))?$/.exec(value);
  if (named !== null) {
    targetName = named[1];
    namedTarget = Number(named[2] ?? "1");
    return;
  }
  const n = Number(value);
  if (Number.isSafeInteger(n) && n > 0) target = n;
}

/** A place where a kill is worth testing: just before or after a step that must be atomic. */
export function crashPoint(name: string): void {
  if (targetName !== undefined) {
    if (name === targetName && ++namedReached === namedTarget) die(name);
    return;
  }
  if (target === 0) return;
  reached += 1;
  if (reached === target) die(name);
}

/** Called when the process is about to exit normally: an armed process dies here instead. */
export function crashAtExit(): void {
  if (target !== 0 || targetName !== undefined) die("exit");
}

function die(name: string): never {
  // Written synchronously: the test reads which point it was, and nothing runs after the kill.
  writeSync(2, `tsbuild: crash point ${name} (#${reached})\n`);
  process.kill(process.pid, "SIGKILL");
  // SIGKILL cannot be caught; this only satisfies the type checker.
  throw new Error("unreachable");
}
