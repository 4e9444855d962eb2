import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";

/** A child running an ES module script given as text, with its output collected. */
export interface ScriptChild {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the exit code (or the signal name) once the child has ended. */
  exited: Promise<number | string>;
  /** Resolves with the same once the child has ended and its output has all been read. */
  closed: Promise<number | string>;
}

/** Starts `node --input-type=module -e <script>`; tests import built modules by absolute URL. */
export function startScript(script: string): ScriptChild {
  const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => (out += chunk));
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (err += chunk));
  const exited = once(child, "exit").then(([code, signal]) => (code ?? signal) as number | string);
  // "exit" can come before the last of stdout has been read (seen on a loaded machine: a
  // child that printed its digest and exited 0 read as ""); "close" comes after.
  const closed = once(child, "close").then(([code, signal]) => (code ?? signal) as number | string);
  return { child, stdout: () => out, stderr: () => err, exited, closed };
}

/** Runs a script to its end and returns its stdout; throws with its stderr when it fails. */
export async function runScript(script: string): Promise<string> {
  const run = startScript(script);
  const status = await run.closed;
  if (status !== 0) throw new Error(`Child exited with ${status}: ${run.stderr()}`);
  return run.stdout();
}

/** Resolves once the child has printed `text` on stdout. */
export async function waitForOutput(run: ScriptChild, text: string, timeoutMs = 10_000): Promise<void> {
  const started = Date.now();
  while (!run.stdout().includes(text)) {
    if (run.child.exitCode !== null || run.child.signalCode !== null) {
      throw new Error(`Child ended before printing ${JSON.stringify(text)}: ${run.stderr()}`);
    }
    if (Date.now() - started > timeoutMs) throw new Error(`Child did not print ${JSON.stringify(text)}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Kills a child this test started (if still running) and waits for it to be reaped. */
export async function killChild(run: ScriptChild): Promise<void> {
  if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill("SIGKILL");
  await run.exited;
}

/** The absolute URL of a built module, e.g. `moduleUrl("store/file-lock.js", import.meta.url)`. */
export function moduleUrl(path: string, testUrl: string): string {
  // Tests are built to <out>/test/<area>/x.test.js, modules to <out>/<path>.
  return new URL(`../../${path}`, testUrl).href;
}
