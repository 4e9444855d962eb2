import { homedir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";

export interface ResolveRootOptions {
  /** `--root` from the command line; wins over everything. */
  root?: string;
  /** The environment to read TSBUILD_ROOT, XDG_DATA_HOME and HOME from. Default: process.env. */
  env?: Record<string, string | undefined>;
  /** The effective user id. Default: process.geteuid(). */
  uid?: number;
}

/** The system-wide root, used when running as root. */
export const SYSTEM_ROOT = "/var/lib/tsbuild";

/**
 * The store root: `--root`, else $TSBUILD_ROOT, else /var/lib/tsbuild as root, else (any
 * other user, rootless) $XDG_DATA_HOME/tsbuild (~/.local/share/tsbuild when unset). Always absolute.
 */
export function resolveRoot(options: ResolveRootOptions = {}): string {
  const env = options.env ?? process.env;
  if (options.root !== undefined && options.root !== "") return resolve(options.root);
  const fromEnv = env.TSBUILD_ROOT;
  if (fromEnv !== undefined && fromEnv !== "") return resolve(fromEnv);
  const uid = options.uid ?? process.geteuid?.() ?? -1;
  // A rootless tsbuild is uid 0 in its user namespace, yet the user's (executor/rootless-mode.ts).
  if (uid === 0 && env.TSBUILD_ROOTLESS === undefined) return SYSTEM_ROOT;
  // The XDG spec says a relative XDG_DATA_HOME is invalid and must be ignored.
  const xdg = env.XDG_DATA_HOME;
  const dataHome = xdg !== undefined && isAbsolute(xdg) ? xdg : join(env.HOME || homedir(), ".local", "share");
  return join(dataHome, "tsbuild");
}
