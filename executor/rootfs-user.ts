import { readFileSync } from "node:fs";
import { resolveInRoot } from "./resolve-in-root.js";
import { resolveUser, type ResolvedUser } from "./user.js";
import { lstatIfExistsSync } from "../util/stat-if-exists.js";

/** Files bigger than this are not account databases; refuse to slurp them. */
const MAX_ACCOUNT_FILE_BYTES = 16 * 1024 * 1024;

/** Resolves a USER value against the rootfs' own /etc/passwd and /etc/group. */
export async function resolveRootfsUser(rootfs: string, spec: string): Promise<ResolvedUser> {
  const [passwd, group] = await Promise.all([readRootfsFile(rootfs, "/etc/passwd"), readRootfsFile(rootfs, "/etc/group")]);
  return resolveUser(spec, { passwd, group });
}

/**
 * The text of a regular file inside the rootfs, its path resolved as the container would
 * (symlinks cannot point out of the rootfs); undefined when missing or not a regular file.
 * Read synchronously: every RUN reads /etc/passwd and /etc/group on its way to starting,
 * small files in the page cache, where a hop through the thread pool costs more than the read.
 */
export async function readRootfsFile(rootfs: string, path: string): Promise<string | undefined> {
  const hostPath = await resolveInRoot(rootfs, path);
  const stat = lstatIfExistsSync(hostPath);
  if (stat === undefined || !stat.isFile() || stat.size > MAX_ACCOUNT_FILE_BYTES) return undefined;
  return readFileSync(hostPath, "utf8");
}
