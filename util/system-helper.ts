import { spawn, type ChildProcessByStdio } from "node:child_process";
import { createInterface } from "node:readline";
import type { Readable, Writable } from "node:stream";
import { TsbuildError } from "../errors.js";
import { holdOpen, letGo } from "./keep-alive.js";
import { isExecutableSync } from "./is-executable.js";
import { packageFile } from "./package-file.js";

/**
 * The system calls Node has no API for, made by one long-lived helper (system-helper.c,
 * built with the package where a C compiler is found), each request in a thread of its
 * own: overlay mounts and unmounts, the extended attributes of a tree, and sealed copies
 * of the OCI runtime. Without it, each would be a program forked from Node or from the
 * command shell (mount(8), getfattr), or the runtime's own copy of itself: three or four
 * forks and execs on every step's path. Without the helper (no compiler at build time,
 * `$TSBUILD_SYSTEM_HELPER=off`, or it died) these functions return false or undefined and
 * their callers run the programs instead.
 */

/** MS_RDONLY: the one mount flag among an overlay's options ("ro"). */
const MS_RDONLY = 1;

/** The built helper, once it is known to be there and to work; null when not. */
let helper: SystemHelper | null | undefined;

/** Mounts an overlay (`options` as for mount(8)) at `target`, names resolved from `cwd`; false without a helper. */
export async function overlayMount(mount: { type: string; source: string; options: readonly string[] }, target: string, cwd: string | undefined): Promise<boolean> {
  const running = systemHelper();
  if (running === undefined) return false;
  const flags = mount.options.includes("ro") ? MS_RDONLY : 0;
  const data = mount.options.filter((option) => option !== "ro").join(",");
  await running.request(["M", cwd ?? "/", mount.type, mount.source, target, String(flags), data], () => `Cannot mount ${mount.type} on "${target}"`);
  return true;
}

/** Unmounts `target`; false without a helper. */
export async function unmount(target: string): Promise<boolean> {
  const running = systemHelper();
  if (running === undefined) return false;
  await running.request(["U", target], () => `Cannot unmount "${target}"`);
  return true;
}

/**
 * The attributes `names` of every file under `dir` (dir included, symlinks not followed),
 * by absolute path, values as bytes; files with none of them are absent. Undefined without
 * a helper.
 */
export async function treeXattrs(dir: string, names: readonly string[]): Promise<Map<string, Map<string, Buffer>> | undefined> {
  const running = systemHelper();
  if (running === undefined) return undefined;
  const fields = await running.request(["X", dir, names.map((name) => `${name}\n`).join("")], () => `Cannot read the extended attributes under "${dir}"`);
  const table = new Map<string, Map<string, Buffer>>();
  for (let i = 0; i + 2 < fields.length; i += 3) {
    const path = Buffer.from(fields[i], "hex").toString("utf8");
    let attributes = table.get(path);
    if (attributes === undefined) table.set(path, (attributes = new Map()));
    attributes.set(Buffer.from(fields[i + 1], "hex").toString("latin1"), Buffer.from(fields[i + 2], "hex"));
  }
  return table;
}

/**
 * A path that executes a sealed in-memory copy of the program at `path`, held by the helper
 * (`/proc/<pid>/fd/<n>`), for as long as the helper lives; undefined without a helper. runc
 * and crun copy themselves into a sealed memfd and re-exec on every start (so that a
 * container cannot overwrite the host's binary through /proc/self/exe, CVE-2019-5736),
 * unless they already run from one: about 1.6 ms of every RUN here. The copy cannot be
 * written, grown or shrunk (its seals), so it protects the same way (runc's memfd-bind).
 */
export async function sealedCopy(path: string): Promise<SealedCopy | undefined> {
  const running = systemHelper();
  if (running === undefined) return undefined;
  const [fd] = await running.request(["S", path], () => `Cannot make a sealed copy of "${path}"`);
  const copy = `/proc/${running.pid}/fd/${fd}`;
  return {
    get path() {
      return running.alive ? copy : undefined;
    },
  };
}

export interface SealedCopy {
  /** The copy's path while the helper that holds it lives, else undefined. */
  readonly path: string | undefined;
}

/** Starts the helper now, for a request soon to come; false when there is none. */
export function startSystemHelper(): boolean {
  return systemHelper() !== undefined;
}

function systemHelper(): SystemHelper | undefined {
  if (helper === undefined) {
    const path = packageFile("dist/util/system-helper");
    helper = process.env.TSBUILD_SYSTEM_HELPER !== "off" && isExecutableSync(path) ? new SystemHelper(path) : null;
  }
  return helper ?? undefined;
}

class SystemHelper {
  readonly #child: ChildProcessByStdio<Writable, Readable, null>;
  readonly #waiting = new Map<string, (reply: string) => void>();
  #next = 0;
  #alive = true;

  constructor(path: string) {
    this.#child = spawn(path, [], { stdio: ["pipe", "pipe", "ignore"] });
    this.#child.stdin.on("error", () => undefined); // a dead helper is reported through `exit`
    this.#child.on("error", () => this.#die());
    this.#child.on("exit", () => this.#die());
    createInterface({ input: this.#child.stdout }).on("line", (line) => {
      const space = line.indexOf(" ");
      const done = this.#waiting.get(line.slice(0, space));
      if (done === undefined) return;
      this.#waiting.delete(line.slice(0, space));
      done(line.slice(space + 1));
      this.#idle();
    });
    this.#idle();
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** False once the helper has exited: the paths of its sealed copies are gone with it. */
  get alive(): boolean {
    return this.#alive;
  }

  /** Sends a request; resolves with the fields of its reply after the status (for "X" and "S"). */
  async request(fields: string[], what: () => string): Promise<string[]> {
    const id = String(this.#next++);
    const [type, ...rest] = fields;
    const reply = await new Promise<string>((resolve) => {
      if (this.#waiting.size === 0) this.#busy();
      this.#waiting.set(id, resolve);
      this.#child.stdin.write(`${[type, id, ...rest].join("\0")}\0`);
    });
    if (reply === "0") return [];
    if (reply.startsWith("0 ")) return reply.slice(2).split(" ");
    if (reply === "dead") throw new TsbuildError("SYSTEM", `${what()}: the system helper exited`);
    const space = reply.indexOf(" ");
    throw new TsbuildError("SYSTEM", `${what()}: ${reply.slice(space + 1)}`);
  }

  /** Waiting on a request keeps the process alive; an idle helper does not. */
  #busy(): void {
    holdOpen(this.#child);
  }

  #idle(): void {
    if (this.#waiting.size === 0) letGo(this.#child);
  }

  #die(): void {
    this.#alive = false;
    if (helper === this) helper = null; // the rest of this process runs the programs instead
    for (const done of this.#waiting.values()) done("dead");
    this.#waiting.clear();
  }
}
