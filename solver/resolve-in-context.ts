import { TsbuildError } from "../errors.js";
import { resolveInRoot } from "../executor/resolve-in-root.js";
import type { DockerignoreMatcher } from "../frontend/dockerignore.js";

/**
 * Maps a path of the build context to a host path inside the context directory, following
 * symlinks as they resolve inside it. Unlike a rootfs, where `/` means the rootfs, a context
 * is a directory of the user's machine: a symlink or `..` that leads out of it is an error
 * (a Dockerfile must not read `~/.ssh` through `COPY link-to-home/ .`).
 *
 * With `followFinal` false the last component is not followed when it is a symlink (COPY of
 * a symlink copies the link).
 */
export function resolveInContext(root: string, path: string, options: { followFinal?: boolean; ignore?: DockerignoreMatcher } = {}): Promise<string> {
  const { ignore } = options;
  return resolveInRoot(root, path, {
    followFinal: options.followFinal,
    // BuildKit filters the context before the build sees it: an ignored file is not there,
    // whether named or reached through a symlink. A directory stays when an exception may
    // bring back something below it; then only that something is there.
    ...(ignore === undefined
      ? {}
      : { hidden: (relative: string, final: boolean) => (ignore.isExcluded(relative) && (final || !ignore.mayIncludeBelow(relative)) ? ignored(path, relative) : undefined) }),
    refuse: {
      escape: (target) => outside(path, target),
      loop: () => new TsbuildError("FILE_NOT_FOUND", `Cannot read "${path}" in the build context: too many symlinks`),
    },
  });
}

/** A context path that is not there because `.dockerignore` leaves it out: to a wildcard, simply no match. */
export class IgnoredPathError extends TsbuildError {
  constructor(path: string, relative: string) {
    const how = relative === path.replace(/^\/+/, "") ? "" : ` (it leads to "${relative}")`;
    super("FILE_NOT_FOUND", `Cannot read "${path}"${how}: it is excluded by .dockerignore`, {
      hint: "Remove the pattern from .dockerignore, or add an exception (!PATH) for it",
    });
  }
}

function ignored(path: string, relative: string): TsbuildError {
  return new IgnoredPathError(path, relative);
}

function outside(path: string, target?: string): TsbuildError {
  const how = target === undefined ? "" : ` through a symlink to "${target}"`;
  return new TsbuildError("FILE_NOT_FOUND", `Cannot copy "${path}": it points outside the build context${how}`, {
    hint: "COPY and ADD read only files inside the context directory",
  });
}
