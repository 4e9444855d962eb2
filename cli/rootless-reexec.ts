import { spawn } from "node:child_process";
import { constants, userInfo } from "node:os";
import { ensurePrivateDir, ROOTLESS_ENV, rootlessRuntimeDir } from "../executor/rootless-mode.js";
import { ensureUserNamespace, joinUserNamespaceCommand } from "../executor/user-namespace.js";
import { reportError } from "./report-error.js";
import { takeLeadingGlobals } from "./global-options.js";

/**
 * Rootless: an ordinary user's tsbuild runs again, as root, in the user's namespace (see
 * executor/user-namespace.ts), and this process only relays. Node cannot enter a user
 * namespace itself (the kernel refuses setns into one for a threaded process), so the
 * command runs in a second process, with this one's stdio, and its exit is this one's.
 */

/** Commands that read no root and start no sandbox, so they run without a namespace. */
const OUTSIDE = new Set(["help", "--help", "-h", "completion", "debug", "--version", "-v", "version"]);

/** True when `argv` should run in the user's namespace: a user other than root, not in it yet. */
export function needsUserNamespace(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): boolean {
  if (process.geteuid?.() === 0 || env[ROOTLESS_ENV] !== undefined) return false;
  let words: string[];
  try {
    words = takeLeadingGlobals(argv).rest;
  } catch {
    return false; // the command line is wrong: runCli says so, no namespace needed
  }
  return words.length > 0 && !OUTSIDE.has(words[0]);
}

/**
 * Runs this CLI with `argv` in the user's namespace and resolves to its exit status. A
 * signal that killed it kills this process too, so the caller sees the same end.
 */
export async function runInUserNamespace(argv: readonly string[]): Promise<number> {
  const uid = process.getuid!();
  const gid = process.getgid!();
  const runtimeDir = rootlessRuntimeDir(process.env, uid);
  let pause;
  try {
    await ensurePrivateDir(runtimeDir, uid);
    pause = await ensureUserNamespace({ runtimeDir, user: { uid, gid, ...userName() } });
  } catch (error) {
    return reportError(error, { write: (text) => process.stderr.write(text), sources: new Map() });
  }
  const self = [process.execPath, ...process.execArgv, process.argv[1], ...argv];
  const { file, args } = joinUserNamespaceCommand(pause, self, process.cwd());
  const child = spawn(file, args, { stdio: "inherit", env: { ...process.env, [ROOTLESS_ENV]: runtimeDir } });
  // A terminal sends Ctrl-C and Ctrl-\ to the whole foreground group, the child included:
  // relaying them too would make one Ctrl-C two. Other signals, and these without a
  // terminal (a script's kill), are relayed.
  const terminal = process.stdin.isTTY || process.stdout.isTTY || process.stderr.isTTY;
  const relayed: NodeJS.Signals[] = ["SIGTERM", "SIGHUP", "SIGUSR1", "SIGUSR2", "SIGINT", "SIGQUIT", "SIGWINCH"];
  const relay = (signal: NodeJS.Signals) => {
    if (terminal && (signal === "SIGINT" || signal === "SIGQUIT" || signal === "SIGWINCH")) return;
    child.kill(signal);
  };
  for (const signal of relayed) process.on(signal, relay);
  const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once("error", (error) => {
      process.stderr.write(`error: Cannot run rootless: cannot start nsenter: ${error.message}\nhint: apt-get install util-linux\n`);
      resolve({ code: 1, signal: null });
    });
    child.once("exit", (exitCode, exitSignal) => resolve({ code: exitCode, signal: exitSignal }));
  });
  for (const name of relayed) process.off(name, relay);
  if (signal !== null) {
    process.kill(process.pid, signal);
    return 128 + (constants.signals[signal] ?? 0);
  }
  return code ?? 1;
}

function userName(): { name?: string } {
  try {
    return { name: userInfo().username };
  } catch {
    // A uid without a passwd entry: /etc/subuid can still name it by number.
    return {};
  }
}
