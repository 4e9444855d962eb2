import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { chmod, chown, mkdir, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { isTsbuildError, TsbuildError } from "../errors.js";
import { acquireFileLock, releaseFileLock, type FileLockHandle } from "../store/file-lock.js";
import type { CacheMount } from "./types.js";
import { statIfExists } from "../util/stat-if-exists.js";
import { filteredCopy } from "./filtered-copy.js";

const execFileAsync = promisify(execFile);

/** A cache directory held for one run; release it when the run is over. */
export interface CacheDirLease {
  /** The host directory to bind-mount at the mount's target. */
  path: string;
  release(): Promise<void>;
}

export interface AcquireCacheDirOptions {
  signal?: AbortSignal;
}

/**
 * Finds (or creates) the host directory for a cache mount under `cacheRoot`:
 * `<cacheRoot>/<id-slug>-<hash>/<n>`, where `n` is 0 except for `private` users that found
 * 0 busy. `locked` users hold the cross-process lock on directory 0 for the whole run; a
 * `private` user takes the first directory whose lock is free without waiting; `shared`
 * users take directory 0 and no lock. A new directory gets the mount's uid, gid and mode,
 * or for a seeded cache (`from=`) a copy of the seed, under a key of the id and the seed's.
 */
export async function acquireCacheDir(cacheRoot: string, mount: CacheMount, options: AcquireCacheDirOptions = {}): Promise<CacheDirLease> {
  const id = mount.id ?? mount.target;
  const keyDir = join(cacheRoot, cacheKeyName(mount.seed === undefined ? id : `${id}\0${mount.seed.key}`));
  await mkdir(keyDir, { recursive: true, mode: 0o700 });
  const sharing = mount.sharing ?? "shared";

  let instance = 0;
  let lock: FileLockHandle | undefined;
  if (sharing === "locked") {
    lock = await acquireFileLock(join(keyDir, "0.lock"), { signal: options.signal });
  } else if (sharing === "private") {
    for (;; instance++) {
      try {
        lock = await acquireFileLock(join(keyDir, `${instance}.lock`), { timeoutMs: 0, signal: options.signal });
        break;
      } catch (error) {
        if (!isTsbuildError(error, "IN_USE")) throw error;
      }
    }
  }
  try {
    const path = join(keyDir, String(instance));
    await ensureDirectory(path, mount);
    let released = false;
    return {
      path,
      release: async () => {
        if (released) return;
        released = true;
        if (lock !== undefined) await releaseFileLock(lock);
      },
    };
  } catch (error) {
    if (lock !== undefined) await releaseFileLock(lock);
    throw error;
  }
}

/** A readable, collision-free directory name for a cache id (ids may hold `/` and anything else). */
export function cacheKeyName(id: string): string {
  const slug = id.replace(/[^A-Za-z0-9._-]+/g, "_").replace(/^[._]+/, "").slice(0, 40) || "cache";
  const hash = createHash("sha256").update(id).digest("hex").slice(0, 12);
  return `${slug}-${hash}`;
}

/** Creates `path` with the mount's owner and mode (or as a copy of its seed), atomically, so no user sees it half set up. */
async function ensureDirectory(path: string, mount: CacheMount): Promise<void> {
  if ((await statIfExists(path))?.isDirectory()) return;
  const temp = `${path}.new-${randomBytes(6).toString("hex")}`;
  await mkdir(temp);
  try {
    if (mount.seed === undefined) {
      await chown(temp, mount.uid ?? 0, mount.gid ?? 0);
      await chmod(temp, mount.mode ?? 0o755); // after chown, which may clear set-id bits
    } else {
      await copySeed(mount.seed, temp, mount.target);
    }
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { recursive: true, force: true });
    // Another user created it first: theirs is as good as ours.
    if ((await statIfExists(path))?.isDirectory()) return;
    throw error;
  }
}

/** Copies the seed directory's contents and its own owner, mode and times into `dest` (which exists). */
async function copySeed(from: NonNullable<CacheMount["seed"]>, dest: string, target: string): Promise<void> {
  const seed = from.path;
  const found = await statIfExists(seed);
  if (found === undefined || !found.isDirectory()) {
    throw new TsbuildError("FILE_NOT_FOUND", `Cannot seed the cache mount at "${target}": its source ${found === undefined ? "does not exist" : "is not a directory"}`, {
      hint: "Point source= at a directory of the from= stage or image",
    });
  }
  // A build context seeds without what .dockerignore leaves out, as BuildKit sends it.
  if (from.ignore !== undefined && from.ignore.patterns.length > 0) {
    await filteredCopy(seed, dest, { root: from.ignore.root, patterns: from.ignore.patterns, link: false, intoExisting: true });
    return;
  }
  // `SEED/.` into an existing directory copies the contents and gives it SEED's attributes.
  await execFileAsync("cp", ["-a", "--reflink=auto", "--", `${seed}/.`, dest]);
}
