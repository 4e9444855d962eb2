import { spawn, type ChildProcessByStdio } from "node:child_process";
import { createInterface } from "node:readline";
import type { Readable, Writable } from "node:stream";
import { TsbuildError } from "../errors.js";
import { isExecutableSync } from "../util/is-executable.js";
import { holdOpen, letGo } from "../util/keep-alive.js";
import { packageFile } from "../util/package-file.js";
import type { Mount } from "./types.js";

/**
 * Overlay mounts and unmounts through one long-lived helper (mount-helper.c, built with the
 * package where a C compiler is found), which makes the system calls in a thread each,
 * instead of a shell forking busybox for every one (util/command-server.ts): two or three
 * per step, each a fork and an exec on the step's path. Without the helper (no compiler
 * at build time, `$TSBUILD_MOUNT_HELPER=off`, or it died), `overlayMount` and `unmount`
 * return false and mount-table.ts runs the programs as before.
 */

/** MS_RDONLY: the one mount flag among an overlay's options ("ro"). */
const MS_RDONLY = 1;

/** The built helper, once it is known to be there and to work; null when not. */
let helper: MountHelper | null | undefined;

/** Mounts an overlay (options as for mount(8)) at `target`, names resolved from `cwd`; false without a helper. */
export async function overlayMount(mount: Mount, target: string, cwd: string | undefined): Promise<boolean> {
  const running = mountHelper();
  if (running === undefined) return false;
  const flags = mount.options.includes("ro") ? MS_RDONLY : 0;
  const data = mount.options.filter((option) => option !== "ro").join(",");
  await running.request(["M", cwd ?? "/", mount.type, mount.source, target, String(flags), data], () => `Cannot mount ${mount.type} on "${target}"`);
  return true;
}

/** Unmounts `target`; false without a helper. */
export async function unmount(target: string): Promise<boolean> {
  const running = mountHelper();
  if (running === undefined) return false;
  await running.request(["U", target], () => `Cannot unmount "${target}"`);
  return true;
}

/** Starts the helper now, for a mount soon to come; false when there is none (mount(8) serves). */
export function startMountHelper(): boolean {
  return mountHelper() !== undefined;
}

function mountHelper(): MountHelper | undefined {
  if (helper === undefined) {
    const path = packageFile("dist/snapshotter/mount-helper");
    helper = process.env.TSBUILD_MOUNT_HELPER !== "off" && isExecutableSync(path) ? new MountHelper(path) : null;
  }
  return helper ?? undefined;
}

class MountHelper {
  readonly #child: ChildProcessByStdio<Writable, Readable, null>;
  readonly #waiting = new Map<string, (reply: string) => void>();
  #next = 0;

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

  async request(fields: string[], what: () => string): Promise<void> {
    const id = String(this.#next++);
    const [type, ...rest] = fields;
    const reply = await new Promise<string>((resolve) => {
      if (this.#waiting.size === 0) this.#busy();
      this.#waiting.set(id, resolve);
      this.#child.stdin.write(`${[type, id, ...rest].join("\0")}\0`);
    });
    if (reply === "0") return;
    if (reply === "dead") throw new TsbuildError("SYSTEM", `${what()}: the mount helper exited`);
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
    if (helper === this) helper = null; // the rest of this process uses mount(8) and umount(8)
    for (const done of this.#waiting.values()) done("dead");
    this.#waiting.clear();
  }
}
