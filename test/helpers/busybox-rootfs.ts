import { execFileSync } from "node:child_process";
import { chmod, chown, copyFile, mkdir, symlink, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";

/** A line of the test rootfs' /etc/passwd. */
export interface RootfsUser {
  name: string;
  uid: number;
  gid: number;
  /** Default `/home/<name>` (created, owned by the user); root's is /root. */
  home?: string;
  shell?: string;
}

/** A line of the test rootfs' /etc/group. */
export interface RootfsGroup {
  name: string;
  gid: number;
  members?: string[];
}

/** root, nobody, alice (1000) and bob (1001, also in staff and audio). */
export const DEFAULT_USERS: readonly RootfsUser[] = [
  { name: "root", uid: 0, gid: 0, home: "/root", shell: "/bin/sh" },
  { name: "nobody", uid: 65534, gid: 65534, home: "/nonexistent", shell: "/bin/false" },
  { name: "alice", uid: 1000, gid: 1000 },
  { name: "bob", uid: 1001, gid: 1001 },
];

export const DEFAULT_GROUPS: readonly RootfsGroup[] = [
  { name: "root", gid: 0 },
  { name: "audio", gid: 29, members: ["bob"] },
  { name: "staff", gid: 50, members: ["bob"] },
  { name: "alice", gid: 1000 },
  { name: "bob", gid: 1001 },
  { name: "nogroup", gid: 65534 },
];

export interface BusyboxRootfsOptions {
  /** Replace the default users (extend with `[...DEFAULT_USERS, ...]`). */
  users?: readonly RootfsUser[];
  groups?: readonly RootfsGroup[];
  /** The static busybox to copy. Default /bin/busybox (Debian's busybox-static). */
  busybox?: string;
}

/**
 * Builds a small Linux rootfs in `dir` (which may exist): /bin/busybox with a symlink per
 * applet where busybox installs it (/bin/sh, /usr/bin/id ...), /etc/passwd and /etc/group,
 * /tmp, /root and the users' home directories. There is deliberately no /etc/hosts, /proc,
 * /dev or /sys, as in a minimal image.
 */
export async function makeBusyboxRootfs(dir: string, options: BusyboxRootfsOptions = {}): Promise<void> {
  const busybox = options.busybox ?? "/bin/busybox";
  const users = options.users ?? DEFAULT_USERS;
  const groups = options.groups ?? DEFAULT_GROUPS;
  await mkdir(join(dir, "bin"), { recursive: true });
  await copyFile(busybox, join(dir, "bin/busybox"));
  await chmod(join(dir, "bin/busybox"), 0o755);

  for (const applet of appletPaths(busybox)) {
    if (applet === "bin/busybox") continue;
    const link = join(dir, applet);
    await mkdir(dirname(link), { recursive: true });
    await symlink("/bin/busybox", link).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== "EEXIST") throw error;
    });
  }

  await mkdir(join(dir, "etc"), { recursive: true });
  const passwd = users.map((u) => `${u.name}:x:${u.uid}:${u.gid}:${u.name}:${homeOf(u)}:${u.shell ?? "/bin/sh"}`);
  const group = groups.map((g) => `${g.name}:x:${g.gid}:${(g.members ?? []).join(",")}`);
  await writeFile(join(dir, "etc/passwd"), passwd.join("\n") + "\n", { mode: 0o644 });
  await writeFile(join(dir, "etc/group"), group.join("\n") + "\n", { mode: 0o644 });

  await mkdir(join(dir, "tmp"), { recursive: true });
  await chmod(join(dir, "tmp"), 0o1777);
  for (const user of users) {
    const home = homeOf(user);
    if (home === "/nonexistent" || home === "/") continue;
    await mkdir(join(dir, home), { recursive: true, mode: 0o755 });
    await chown(join(dir, home), user.uid, user.gid);
  }
}

function homeOf(user: RootfsUser): string {
  return user.home ?? (user.uid === 0 ? "/root" : `/home/${user.name}`);
}

const appletCache = new Map<string, string[]>();

/** `busybox --list-full`: where each applet lives (`bin/sh`, `usr/bin/id` ...). */
function appletPaths(busybox: string): string[] {
  let paths = appletCache.get(busybox);
  if (paths === undefined) {
    paths = execFileSync(busybox, ["--list-full"], { encoding: "utf8" })
      .split("\n")
      .map((line) => line.trim())
      .filter((line) => line !== "" && !line.includes(".."));
    appletCache.set(busybox, paths);
  }
  return paths;
}
