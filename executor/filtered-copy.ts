import { constants } from "node:fs";
import { chmod, copyFile, lchown, link, lstat, mkdir, readdir, readlink, symlink } from "node:fs/promises";
import { join, relative } from "node:path";
import { DockerignoreMatcher } from "../frontend/dockerignore.js";
import { errnoOf } from "../util/system-error.js";

export interface FilteredCopyOptions {
  /** The directory the patterns are relative to (the build context); `source` lies inside it. */
  root: string;
  /** `.dockerignore` patterns. */
  patterns: readonly string[];
  /**
   * Hard-link files instead of copying them where the file system allows: for a read-only
   * mount, whose process cannot change them. A writable one gets copies (reflinks where
   * the file system has them), so the context is never written.
   */
  link: boolean;
  /** `target` exists already (an empty directory): fill it, and give it the source's mode and owner. */
  intoExisting?: boolean;
}

/**
 * `source` as the build sees it after `.dockerignore`: a new tree at `target` with only the
 * entries the patterns keep, for a RUN --mount=type=bind of the context, which BuildKit
 * serves from the filtered context it was sent. Directories an exception may reach into are
 * kept with only what the exception brings back. Sockets, fifos and devices are left out.
 */
export async function filteredCopy(source: string, target: string, options: FilteredCopyOptions): Promise<void> {
  const matcher = new DockerignoreMatcher(options.patterns);
  const visit = async (from: string, to: string): Promise<void> => {
    const info = await lstat(from);
    const rel = relative(options.root, from).split("\\").join("/");
    if (rel !== "" && matcher.isExcluded(rel) && !(info.isDirectory() && matcher.mayIncludeBelow(rel))) return;
    if (info.isDirectory()) {
      if (to === target && options.intoExisting === true) await chmod(to, info.mode & 0o7777);
      else await mkdir(to, { mode: info.mode & 0o7777 });
      for (const name of (await readdir(from)).sort()) await visit(join(from, name), join(to, name));
    } else if (info.isSymbolicLink()) {
      await symlink(await readlink(from), to);
    } else if (info.isFile()) {
      await placeFile(from, to, options.link);
    } else {
      return;
    }
    await lchown(to, info.uid, info.gid);
  };
  await visit(source, target);
}

async function placeFile(from: string, to: string, hardLink: boolean): Promise<void> {
  if (hardLink) {
    try {
      await link(from, to);
      return;
    } catch (error) {
      // Another file system, or one that refuses links (EPERM with protected_hardlinks): copy.
      if (!["EXDEV", "EPERM", "EMLINK"].includes(errnoOf(error) ?? "")) throw error;
    }
  }
  await copyFile(from, to, constants.COPYFILE_FICLONE);
}
