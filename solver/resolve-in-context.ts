import { lstat, readlink } from "node:fs/promises";
import { join, resolve } from "node:path";
import { TsbuildError } from "../errors.js";

const MAX_SYMLINKS = 255;

/**
 * Maps a path of the build context to a host path inside the context directory, following
 * symlinks as they resolve inside it. Unlike a rootfs, where `/` means the rootfs, a context
 * is a directory of the user's machine: a symlink or `..` that leads out of it is an error
 * (a Dockerfile must not read `~/.ssh` through `COPY link-to-home/ .`).
 *
 * With `followFinal` false the last component is not followed when it is a symlink (COPY of
 * a symlink copies the link).
 */
export async function resolveInContext(root: string, path: string, options: { followFinal?: boolean } = {}): Promise<string> {
  const base = resolve(root);
  const done: string[] = [];
  const queue = path.split("/").filter((part) => part !== "" && part !== ".");
  let links = 0;
  while (queue.length > 0) {
    const part = queue.shift()!;
    if (part === "..") {
      if (done.length === 0) throw outside(path);
      done.pop();
      continue;
    }
    const candidate = join(base, ...done, part);
    const isFinal = queue.length === 0;
    const stat = isFinal && options.followFinal === false ? undefined : await lstat(candidate).catch(() => undefined);
    if (stat?.isSymbolicLink()) {
      links += 1;
      if (links > MAX_SYMLINKS) throw new TsbuildError("FILE_NOT_FOUND", `Cannot read "${path}" in the build context: too many symlinks`);
      const target = await readlink(candidate);
      if (target.startsWith("/")) throw outside(path, target);
      queue.unshift(...target.split("/").filter((p) => p !== "" && p !== "."));
      continue;
    }
    done.push(part);
  }
  return join(base, ...done);
}

function outside(path: string, target?: string): TsbuildError {
  const how = target === undefined ? "" : ` through a symlink to "${target}"`;
  return new TsbuildError("FILE_NOT_FOUND", `Cannot copy "${path}": it points outside the build context${how}`, {
    hint: "COPY and ADD read only files inside the context directory",
  });
}
