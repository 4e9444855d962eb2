import { execFile } from "node:child_process";
import { readdir, readFile, readlink } from "node:fs/promises";
import { promisify } from "node:util";
import { TsbuildError } from "../errors.js";
import { openContainerRuntime } from "../executor/container-runtime.js";
import { writeFileAtomic } from "../store/atomic-file.js";
import type { Worker } from "../worker/worker.js";
import { containerPaths, findContainer, type ContainerPaths } from "./container-record.js";
import { containerState, readStateFile } from "./container-state.js";

const execFileAsync = promisify(execFile);

/** A terminal's size in character cells. */
export interface ConsoleSize {
  rows: number;
  cols: number;
}

/**
 * Resizes the terminal of a running `-t` container (what docker's API does for `attach` and
 * `exec -t` when the client's window changes): the size goes to a file, and SIGWINCH tells
 * the container's shim to apply it.
 */
export async function resizeContainer(worker: Worker, text: string, size: ConsoleSize): Promise<void> {
  if (!(Number.isInteger(size.rows) && Number.isInteger(size.cols) && size.rows > 0 && size.cols > 0 && size.rows < 65536 && size.cols < 65536)) {
    throw new TsbuildError("USAGE", `Cannot resize to ${size.rows}x${size.cols}: rows and columns must be whole numbers from 1 to 65535`);
  }
  const record = await findContainer(worker, text);
  if (!record.tty) throw new TsbuildError("CONFLICT", `Cannot resize container "${text}": it has no terminal (run it with -t)`);
  const { runtime } = await openContainerRuntime(worker.root);
  const paths = containerPaths(worker.root, record.id);
  const shim = (await readStateFile(paths.state)).shim;
  if (!(await containerState(record, { root: worker.root, runtime })).running || shim === undefined) {
    throw new TsbuildError("CONFLICT", `Cannot resize container "${text}": it is not running`);
  }
  await writeFileAtomic(paths.consoleSize, `${JSON.stringify(size)}\n`);
  process.kill(shim.pid, "SIGWINCH");
}

/**
 * Sets the size last asked for on the terminal `script` (pid `scriptPid`) gave the runtime:
 * the runtime's stdin. The kernel then sends SIGWINCH to the runtime, which copies the size
 * to the container's console.
 */
export async function applyConsoleSize(scriptPid: number, paths: ContainerPaths): Promise<void> {
  const size = JSON.parse(await readFile(paths.consoleSize, "utf8")) as ConsoleSize;
  const children = (await readFile(`/proc/${scriptPid}/task/${scriptPid}/children`, "utf8").catch(() => childrenByScan(scriptPid))).trim().split(/\s+/);
  for (const pid of children.filter((word) => word !== "")) {
    const terminal = await readlink(`/proc/${pid}/fd/0`).catch(() => "");
    if (!terminal.startsWith("/dev/pts/")) continue;
    await execFileAsync("stty", ["-F", terminal, "rows", String(size.rows), "cols", String(size.cols)]);
    return;
  }
}

/** The children of `pid` from every process's stat, where the kernel has no `children` file. */
async function childrenByScan(pid: number): Promise<string> {
  const found: string[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, "utf8").catch(() => "");
    // The command name (field 2) may hold spaces: the parent pid is the second field after its ")".
    const parent = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1];
    if (parent === String(pid)) found.push(entry);
  }
  return found.join(" ");
}
