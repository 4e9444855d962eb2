import { spawn, type ChildProcessByStdio } from "node:child_process";
import { rmSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { Readable, Writable } from "node:stream";
import { holdOpen, letGo } from "./keep-alive.js";
import { makeOwnedTempDir } from "./owned-temp-dir.js";

export interface ServedCommand {
  /** Its exit status, or "not-found" when there is no such program. */
  status: number | "not-found";
  stdout: Buffer;
  stderr: string;
}

/**
 * Runs short system programs (mount, umount, getfattr) through one long-lived shell instead
 * of a spawn each. Node forks its whole process for every spawn and its event loop waits
 * until the child has exec'd: 3 to 5 ms of blocked main thread per program on a loaded
 * machine, three programs per RUN step. The shell forks small and in the background, so
 * the event loop only writes a line; programs still run side by side. Their output goes to
 * files in an owned temp dir (util/owned-temp-dir.ts: a killed process's is reclaimed), the
 * status comes back as a line. The shell exits when this process does (its stdin closes).
 */
export async function runServed(program: string, args: readonly string[], options: ServeOptions = {}): Promise<ServedCommand> {
  server ??= CommandServer.start();
  const running = await server;
  return running.run(program, args, options);
}

/**
 * Starts the shell now, for a program soon to come: it is up (forked, exec'd, reading) by
 * then instead of after. A failure to start is the next program's to report.
 */
export function warmCommandServer(): void {
  server ??= CommandServer.start();
  server.catch(() => undefined); // reported by `runServed`, which awaits the same promise
}

export interface ServeOptions {
  cwd?: string;
  /**
   * False when only the status matters (mount, umount): stdout goes to /dev/null and stderr
   * is read only after a failure, which spares the files' reads on every success.
   */
  output?: boolean;
}

let server: Promise<CommandServer> | undefined;

/** The `what` of the shell's owned temp dir (util/owned-temp-dir.ts). */
export const COMMANDS_TEMP_KIND = "commands";

class CommandServer {
  readonly #shell: ChildProcessByStdio<Writable, Readable, null>;
  readonly #dir: string;
  readonly #waiting = new Map<number, (status: string) => void>();
  #next = 0;
  /** Output file numbers: how many exist, and those no program is using. */
  #slots = 0;
  readonly #freeSlots: number[] = [];
  #dead: Error | undefined;

  static async start(): Promise<CommandServer> {
    const dir = await makeOwnedTempDir(tmpdir(), COMMANDS_TEMP_KIND);
    return new CommandServer(dir);
  }

  private constructor(dir: string) {
    this.#dir = dir;
    // Quiet: no prompt, nothing but status lines on its stdout.
    this.#shell = spawn("/bin/sh", ["-s"], { stdio: ["pipe", "pipe", "ignore"] });
    this.#shell.stdin.on("error", () => undefined); // a dead shell is reported through `exit`
    this.#shell.on("error", (error) => this.#die(error));
    this.#shell.on("exit", () => this.#die(new Error("the command shell exited")));
    createInterface({ input: this.#shell.stdout }).on("line", (line) => {
      const space = line.indexOf(" ");
      const id = Number(line.slice(0, space));
      const done = this.#waiting.get(id);
      if (done === undefined) return;
      this.#waiting.delete(id);
      done(line.slice(space + 1));
      this.#idle();
    });
    this.#idle();
    process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  }

  async run(program: string, args: readonly string[], options: ServeOptions): Promise<ServedCommand> {
    if (this.#dead !== undefined) throw this.#dead;
    const { cwd } = options;
    const output = options.output ?? true;
    const id = this.#next++;
    // Output files are kept and reused (a redirection truncates them): creating and removing
    // two files a program cost more than the program's own start on this disk.
    const slot = this.#freeSlots.pop() ?? this.#slots++;
    const out = output ? join(this.#dir, `${slot}.out`) : "/dev/null";
    const err = join(this.#dir, `${slot}.err`);
    const command = [program, ...args].map(quote).join(" ");
    const body = `${cwd === undefined ? "" : `cd ${quote(cwd)} && `}${command}`;
    // `( ... & )`: the job is forked off a subshell that exits at once, so this shell keeps no
    // children to reap; a status line is one short write, whole even when jobs end together.
    const line = `( if command -v ${quote(program)} >/dev/null 2>&1; then { ${body}; } </dev/null >${quote(out)} 2>${quote(err)}; echo "${id} $?"; else echo "${id} x"; fi & )\n`;
    try {
      const status = await new Promise<string>((resolve) => {
        if (this.#waiting.size === 0) this.#busy();
        this.#waiting.set(id, resolve);
        this.#shell.stdin.write(line);
      });
      if (status === "dead") throw this.#dead ?? new Error("the command shell exited");
      if (status === "x") return { status: "not-found", stdout: Buffer.alloc(0), stderr: "" };
      // Only the status matters on success when the output is not wanted.
      if (!output && status === "0") return { status: 0, stdout: Buffer.alloc(0), stderr: "" };
      const [stdout, stderr] = await Promise.all([output ? readFile(out) : Buffer.alloc(0), readFile(err, "utf8")]);
      return { status: Number(status), stdout, stderr };
    } finally {
      this.#freeSlots.push(slot);
    }
  }

  /** Waiting on a program keeps the process alive; an idle shell does not. */
  #busy(): void {
    holdOpen(this.#shell);
  }

  #idle(): void {
    if (this.#waiting.size === 0) letGo(this.#shell);
  }

  #die(error: Error): void {
    this.#dead ??= error;
    if (server !== undefined) server = undefined; // the next program starts a new shell
    for (const done of this.#waiting.values()) done("dead");
    this.#waiting.clear();
  }
}

/** One shell word, single-quoted. */
function quote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}
