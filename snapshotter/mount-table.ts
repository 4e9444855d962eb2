import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { staticBusybox } from "../util/static-busybox.js";
import { overlayMount, unmount } from "../util/system-helper.js";
import { runCommand } from "./run-command.js";
import type { Mount } from "./types.js";

/**
 * Performs a mount: an overlay through the system helper (util/system-helper.ts) where it
 * was built, anything else with mount(8). `cwd` lets overlay options name lower directories by
 * relative paths (see overlay-options.ts), which keeps long chains under the page limit.
 */
export async function performMount(mount: Mount, target: string, options: { cwd?: string } = {}): Promise<void> {
  if (mount.type === "overlay" && (await overlayMount(mount, target, options.cwd))) return;
  const args = mount.type === "bind" ? [] : ["-t", mount.type];
  if (mount.options.length > 0) args.push("-o", mount.options.join(","));
  args.push(mount.source, target);
  // Only overlays through busybox: its `mount -o bind,ro` leaves the bind writable (util-linux
  // remounts it read-only), and an overlay's options go to the kernel as they are.
  await runMountProgram("mount", args, { busybox: mount.type === "overlay", ...(options.cwd === undefined ? {} : { cwd: options.cwd }) });
}

/** Unmounts `target`: through the system helper where it was built, else with umount(8). */
export async function performUnmount(target: string): Promise<void> {
  if (await unmount(target)) return;
  await runMountProgram("umount", [target], { busybox: true });
}

/**
 * Runs mount or umount, only for its status. With `busybox`, as busybox's applet where
 * busybox is installed: a RUN mounts and unmounts its root each time, and util-linux's
 * programs (dynamically linked, libmount reading the mount table and utab) take about 1.5
 * and 3 ms longer.
 */
async function runMountProgram(program: "mount" | "umount", args: string[], options: { busybox: boolean; cwd?: string }): Promise<void> {
  const busybox = options.busybox ? staticBusybox() : undefined;
  const run = { output: false, ...(options.cwd === undefined ? {} : { cwd: options.cwd }) };
  if (busybox === undefined) await runCommand(program, args, run);
  else await runCommand(busybox, [program, ...args], run);
}

/**
 * Unmounts every mount point at or beneath `dir`, deepest first, so a directory a killed
 * process left can be removed without deleting through a live mount (an overlay's upper
 * directory, a secret's tmpfs). A mount still busy is detached lazily: it leaves our
 * namespace now and the kernel frees it when its last user goes. Returns the points.
 */
export async function unmountBeneath(dir: string, mounted?: ReadonlySet<string>): Promise<string[]> {
  const base = resolve(dir);
  const points = [...(mounted ?? (await listMountPoints()))].filter((point) => point === base || point.startsWith(`${base}/`));
  // Deepest first; a point mounted twice is listed once, so unmount until it is gone.
  points.sort((a, b) => b.length - a.length);
  for (const point of points) {
    for (let attempt = 0; attempt < 8 && (await isMountPoint(point)); attempt++) {
      await performUnmount(point).catch(() => runCommand("umount", ["--lazy", point]));
    }
  }
  return points;
}

/** Absolute mount points of this process's mount namespace (from /proc/self/mountinfo). */
export async function listMountPoints(): Promise<Set<string>> {
  const text = await readFile("/proc/self/mountinfo", "utf8");
  const points = new Set<string>();
  for (const line of text.split("\n")) {
    const field = line.split(" ")[4];
    if (field !== undefined) points.add(unescapeMountField(field));
  }
  return points;
}

/** True when `target` is a mount point now. */
export async function isMountPoint(target: string): Promise<boolean> {
  return (await listMountPoints()).has(resolve(target));
}

/** mountinfo escapes space, tab, newline and backslash as octal `\ooo`. */
function unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}
