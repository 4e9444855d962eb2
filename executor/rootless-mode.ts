import { createHash } from "node:crypto";
import { lstat, mkdir } from "node:fs/promises";
import { isAbsolute, join } from "node:path";
import { TsbuildError } from "../errors.js";
import { hostIdOf, mappedCount, processIdMapping } from "../util/id-mapping.js";
import { isMissing } from "../util/stat-if-exists.js";

/**
 * A rootless tsbuild: started by an ordinary user, it runs again inside its user namespace
 * (cli/rootless-reexec.ts, executor/user-namespace.ts) with this variable set to the user's
 * private runtime directory. Inside it is uid 0, so this, not the uid, tells it that its
 * default root is the user's ($XDG_DATA_HOME/tsbuild) and its runtime state the user's.
 */
export const ROOTLESS_ENV = "TSBUILD_ROOTLESS";

/** The runtime directory of the rootless tsbuild this process is, or undefined when it runs as root. */
export function rootlessRuntimeDirOf(env: Record<string, string | undefined> = process.env): string | undefined {
  const dir = env[ROOTLESS_ENV];
  return dir !== undefined && isAbsolute(dir) ? dir : undefined;
}

/**
 * Where a user's runtime state goes (the pause process, the OCI runtime's state): a
 * `tsbuild` directory in $XDG_RUNTIME_DIR, a tmpfs that lives as long as the user's login;
 * when that is unset (su, runuser, cron), `/tmp/tsbuild-run-<uid>`, as podman falls back.
 */
export function rootlessRuntimeDir(env: Record<string, string | undefined>, uid: number): string {
  const xdg = env.XDG_RUNTIME_DIR;
  return xdg !== undefined && isAbsolute(xdg) ? join(xdg, "tsbuild") : join("/tmp", `tsbuild-run-${uid}`);
}

/**
 * Makes `dir` (mode 0700) or checks that the one there is a directory of `uid`'s that no one
 * else may write: a directory another user made in /tmp first must not hold our state.
 */
export async function ensurePrivateDir(dir: string, uid: number): Promise<void> {
  try {
    await mkdir(dir, { mode: 0o700 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") await mkdir(dir, { recursive: true, mode: 0o700 });
    else if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  }
  let stat;
  try {
    stat = await lstat(dir);
  } catch (error) {
    if (isMissing(error)) throw new TsbuildError("ROOTLESS", `Cannot use the runtime directory "${dir}": it vanished`);
    throw error;
  }
  if (!stat.isDirectory() || stat.uid !== uid || (stat.mode & 0o022) !== 0) {
    throw new TsbuildError("ROOTLESS", `Cannot use the runtime directory "${dir}": it is not a private directory of uid ${uid}`, {
      hint: "Remove it, or set XDG_RUNTIME_DIR to a directory of your own",
    });
  }
}

/**
 * The directory of a root's OCI runtime state (the runtimes' `--root`s): `<root>/runtime`,
 * or for a rootless tsbuild `<runtime dir>/runtime-<hash of the root>`, so it lives (and
 * goes) with the user's session as the runtime's own rootless default would.
 */
export function runtimeStateRoot(root: string, env: Record<string, string | undefined> = process.env): string {
  const runtimeDir = rootlessRuntimeDirOf(env);
  if (runtimeDir === undefined) return join(root, "runtime");
  return join(runtimeDir, `runtime-${createHash("sha256").update(root).digest("hex").slice(0, 16)}`);
}

/** For `tsbuild info`: the user and the ids a rootless tsbuild maps, or null when it runs as root. */
export function describeRootless(env: Record<string, string | undefined> = process.env): { uid: number; ids: string; runtimeDir: string } | null {
  const runtimeDir = rootlessRuntimeDirOf(env);
  if (runtimeDir === undefined) return null;
  const { uids } = processIdMapping();
  const count = mappedCount(uids);
  const ids = count > 1 ? `uids 0-${count - 1} mapped, the user's subordinate ids beyond root` : "one id, root: no subordinate ids";
  return { uid: hostIdOf(uids, 0) ?? -1, ids, runtimeDir };
}
