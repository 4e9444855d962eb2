import { readlinkSync } from "node:fs";
import { join, resolve } from "node:path";
import { TsbuildError } from "../errors.js";
import { lstatIfExistsSync } from "../util/stat-if-exists.js";

/** More symlinks than this in one path is a loop (Linux's own limit is 40). */
const MAX_SYMLINKS = 255;

export interface ResolveInRootOptions {
  /** Follow a symlink in the last component (default true); false names the link itself. */
  followFinal?: boolean;
  /**
   * Makes leaving the root an error instead of clamping at it: for a directory of the
   * user's machine (a build context), where an absolute symlink or a `..` above the root
   * leads to the host, not to the root's own `/`.
   */
  refuse?: {
    escape(target: string | undefined): TsbuildError;
    loop(): TsbuildError;
  };
  /**
   * Paths (relative to the root, `/`-separated) that do not exist for this lookup: a build
   * context's `.dockerignore`d files, which a symlink must not reach either. Asked for every
   * component on the way, link targets included; a hidden one throws what this returns.
   */
  hidden?: (relative: string, final: boolean) => TsbuildError | undefined;
}

/**
 * Maps a path as a process inside `root` would see it to a host path inside `root`,
 * following symlinks the way they resolve inside the container: absolute targets start at
 * `root`, and `..` never climbs above it. A rootfs is untrusted input; this is what keeps
 * `/etc/passwd -> /../../host/secret` from reading the host's files. Missing components
 * are kept as written, so the result can name a path that does not exist yet.
 *
 * The lookups are synchronous calls: a few lstats of paths the kernel has cached, where a
 * hop through Node's thread pool each cost more, and every RUN resolves a dozen paths (its
 * user's files, workdir, mount points). The promise is kept for the callers.
 */
export async function resolveInRoot(root: string, path: string, options: ResolveInRootOptions = {}): Promise<string> {
  const base = resolve(root);
  const { refuse } = options;
  const done: string[] = [];
  const queue = path.split("/").filter((part) => part !== "" && part !== ".");
  let links = 0;
  while (queue.length > 0) {
    const part = queue.shift()!;
    if (part === "..") {
      if (done.length === 0 && refuse) throw refuse.escape(undefined);
      done.pop();
      continue;
    }
    const candidate = join(base, ...done, part);
    const hidden = options.hidden?.([...done, part].join("/"), queue.length === 0);
    if (hidden !== undefined) throw hidden;
    const follow = queue.length > 0 || options.followFinal !== false;
    const stat = follow ? lstatIfExistsSync(candidate) : undefined;
    if (stat?.isSymbolicLink()) {
      links += 1;
      if (links > MAX_SYMLINKS) {
        throw refuse ? refuse.loop() : new TsbuildError("INVALID_ARCHIVE", `Cannot resolve "${path}" in "${root}": too many symlinks`);
      }
      const target = readlinkSync(candidate);
      if (target.startsWith("/")) {
        if (refuse) throw refuse.escape(target);
        done.length = 0;
      }
      queue.unshift(...target.split("/").filter((p) => p !== "" && p !== "."));
      continue;
    }
    done.push(part);
  }
  return join(base, ...done);
}
