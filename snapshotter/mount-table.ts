import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { runCommand } from "./run-command.js";
import type { Mount } from "./types.js";

/**
 * Performs a mount with mount(8). `cwd` lets overlay options name lower directories by
 * relative paths (see overlay-options.ts), which keeps long chains under the page limit.
 */
export async function performMount(mount: Mount, target: string, options: { cwd?: string } = {}): Promise<void> {
  const args = mount.type === "bind" ? [] : ["-t", mount.type];
  if (mount.options.length > 0) args.push("-o", mount.options.join(","));
  args.push(mount.source, target);
  await runCommand("mount", args, { cwd: options.cwd });
}

/** Unmounts `target` with umount(8). */
export async function performUnmount(target: string): Promise<void> {
  await runCommand("umount", [target]);
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
