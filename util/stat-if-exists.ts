import { lstatSync, type BigIntStats, type Stats } from "node:fs";
import { lstat, readdir, readFile, stat } from "node:fs/promises";
import { errnoOf, systemError } from "./system-error.js";

/**
 * File-system lookups where "missing" is an answer, and nothing else is. The habit these
 * replace, `lstat(p).catch(() => undefined)`, read a directory we may not enter (EACCES), a
 * symlink loop (ELOOP) or a failing disk (EIO) as "no such file", and went on to copy too
 * little or overwrite too much. Here only ENOENT and ENOTDIR mean missing; every other
 * errno becomes its coded error (util/system-error.ts), which keeps the errno as its cause.
 *
 * Written by hand: fs-extra's `pathExists` is `access()` with every error read as false,
 * the very habit this replaces.
 */

/** True for the errors that mean "there is nothing at this path". */
export function isMissing(error: unknown): boolean {
  const errno = errnoOf(error);
  return errno === "ENOENT" || errno === "ENOTDIR";
}

/** `lstat`, or undefined when nothing is at `path`. */
export function lstatIfExists(path: string): Promise<Stats | undefined>;
export function lstatIfExists(path: string, options: { bigint: true }): Promise<BigIntStats | undefined>;
export async function lstatIfExists(path: string, options?: { bigint: true }): Promise<Stats | BigIntStats | undefined> {
  try {
    return options?.bigint === true ? await lstat(path, { bigint: true }) : await lstat(path);
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw systemError(error, `Cannot look at "${path}"`);
  }
}

/**
 * `lstatIfExists` as one synchronous call: for the few lookups on a step's path (resolving a
 * path in a rootfs), where a hop through Node's thread pool costs far more than the call.
 */
export function lstatIfExistsSync(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw systemError(error, `Cannot look at "${path}"`);
  }
}

/** `stat` (following symlinks), or undefined when nothing is at `path` or a symlink on the way dangles. */
export async function statIfExists(path: string): Promise<Stats | undefined> {
  try {
    return await stat(path);
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw systemError(error, `Cannot look at "${path}"`);
  }
}

/** True when something (a dangling symlink included) is at `path`. */
export async function exists(path: string): Promise<boolean> {
  return (await lstatIfExists(path)) !== undefined;
}

/** The names in a directory, or undefined when it does not exist. */
export async function readdirIfExists(path: string): Promise<string[] | undefined> {
  try {
    return await readdir(path);
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw systemError(error, `Cannot list "${path}"`);
  }
}

/** A file's text, or undefined when it does not exist. */
export async function readTextIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw systemError(error, `Cannot read "${path}"`);
  }
}
