import { TsbuildError } from "../errors.js";
import { resolveInRoot } from "../executor/resolve-in-root.js";

/**
 * Maps a path of the build context to a host path inside the context directory, following
 * symlinks as they resolve inside it. Unlike a rootfs, where `/` means the rootfs, a context
 * is a directory of the user's machine: a symlink or `..` that leads out of it is an error
 * (a Dockerfile must not read `~/.ssh` through `COPY link-to-home/ .`).
 *
 * With `followFinal` false the last component is not followed when it is a symlink (COPY of
 * a symlink copies the link).
 */
export function resolveInContext(root: string, path: string, options: { followFinal?: boolean } = {}): Promise<string> {
  return resolveInRoot(root, path, {
    followFinal: options.followFinal,
    refuse: {
      escape: (target) => outside(path, target),
      loop: () => new TsbuildError("FILE_NOT_FOUND", `Cannot read "${path}" in the build context: too many symlinks`),
    },
  });
}

function outside(path: string, target?: string): TsbuildError {
  const how = target === undefined ? "" : ` through a symlink to "${target}"`;
  return new TsbuildError("FILE_NOT_FOUND", `Cannot copy "${path}": it points outside the build context${how}`, {
    hint: "COPY and ADD read only files inside the context directory",
  });
}
