import { lstat, mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, posix, resolve } from "node:path";
import { resolveInRoot } from "../executor/resolve-in-root.js";

/** A place the runtime will mount something on, and whether it must be a file or a directory. */
export interface MountPoint {
  path: string;
  kind: "file" | "directory";
}

/** The mount points every container needs: the files tsbuild binds and the kernel file systems. */
export const STANDARD_MOUNT_POINTS: readonly MountPoint[] = [
  { path: "/etc/hosts", kind: "file" },
  { path: "/etc/resolv.conf", kind: "file" },
  { path: "/etc/hostname", kind: "file" },
  { path: "/proc", kind: "directory" },
  { path: "/dev", kind: "directory" },
  { path: "/sys", kind: "directory" },
];

/**
 * Creates the missing mount points in a mounted rootfs, as docker fills its init layer: the
 * runtime would otherwise create them in the container's own layer, where `diff` and
 * `commit` would see them. Paths resolve as inside the container (resolveInRoot), so an
 * absolute symlink of the image never leads a write to the host.
 */
export async function createMountPoints(rootfs: string, points: readonly MountPoint[]): Promise<void> {
  for (const point of points) {
    const parts = posix.resolve("/", point.path).split("/").filter((part) => part !== "");
    for (let i = 1; i <= parts.length; i++) {
      const host = await resolveInRoot(rootfs, "/" + parts.slice(0, i).join("/"));
      if (await lstat(host).then(() => true, () => false)) continue;
      // Missing components hold no symlinks, so creating the resolved path's parents is safe.
      if (i === parts.length && point.kind === "file") {
        await mkdir(dirname(host), { recursive: true, mode: 0o755 });
        await writeFile(host, "", { flag: "wx", mode: 0o644 });
      } else {
        await mkdir(host, { recursive: true, mode: 0o755 });
      }
    }
  }
}

/** True when `path` is a mount point right now (in this process's mount namespace). */
export async function isMountPoint(path: string): Promise<boolean> {
  const absolute = resolve(path);
  const text = await readFile("/proc/self/mountinfo", "utf8");
  return text.split("\n").some((line) => unescapeMountPath(line.split(" ")[4] ?? "") === absolute);
}

function unescapeMountPath(text: string): string {
  return text.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}
