import { execFile } from "node:child_process";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { TsbuildError } from "../errors.js";
import { resolveInContext } from "./resolve-in-context.js";

const execFileAsync = promisify(execFile);

export interface CloneGitOptions {
  /** A branch, tag or commit; empty for the remote's default branch. */
  ref: string;
  /** The directory of the repository to use; empty for all of it. */
  subdir: string;
  keepGitDir: boolean;
  /** `ADD --checksum`: the commit (or a prefix of its hash) the ref must resolve to. */
  checksum?: string;
  signal?: AbortSignal;
}

/**
 * ADD's git source: clones `remote` into `dir` with the git program and checks out `ref`,
 * then answers the directory to copy from (the subdir, which may not leave the checkout).
 * `.git` is removed unless kept, as BuildKit does. The files are then read like a context,
 * so their contents are in the cache key of the ADD that copies them.
 */
export async function cloneGit(remote: string, dir: string, options: CloneGitOptions): Promise<string> {
  // BuildKit's words (source/git) for a checksum that cannot be a commit hash.
  if (options.checksum !== undefined && !/^[0-9a-f]+$/.test(options.checksum)) {
    throw new TsbuildError("DOCKERFILE_SYNTAX", `invalid checksum ${options.checksum} for Git URL, expected hex commit hash`);
  }
  const env = { ...process.env, GIT_TERMINAL_PROMPT: "0", GIT_ASKPASS: "true" };
  const git = (args: string[]) =>
    execFileAsync("git", args, { env, maxBuffer: 16 * 1024 * 1024, ...(options.signal === undefined ? {} : { signal: options.signal }) });
  try {
    await git(["clone", "--quiet", "--no-checkout", "--", remote, dir]);
    await git(["-C", dir, "checkout", "--quiet", "--detach", options.ref === "" ? "HEAD" : options.ref]);
    await git(["-C", dir, "submodule", "update", "--quiet", "--init", "--recursive"]).catch(() => undefined);
  } catch (error) {
    if (options.signal?.aborted) throw new TsbuildError("CANCELLED", `Cloning "${remote}" was cancelled`, { cause: error });
    const stderr = (error as { stderr?: string }).stderr?.trim().split("\n").pop() ?? (error as Error).message;
    const missing = (error as NodeJS.ErrnoException).code === "ENOENT";
    throw new TsbuildError(missing ? "SYSTEM" : "FILE_NOT_FOUND", `Cannot clone "${remote}"${options.ref === "" ? "" : ` at "${options.ref}"`}: ${missing ? "git is not installed" : stderr}`, {
      cause: error,
      ...(missing ? { hint: "Install git: apt-get install git" } : {}),
    });
  }
  if (options.checksum !== undefined) {
    const commit = (await git(["-C", dir, "rev-parse", "HEAD"])).stdout.trim();
    if (!commit.startsWith(options.checksum)) {
      throw new TsbuildError("DIGEST_MISMATCH", `expected checksum to match ${options.checksum}, got ${commit}`);
    }
  }
  if (!options.keepGitDir) {
    await rm(join(dir, ".git"), { recursive: true, force: true });
  } else {
    // The files are keyed by content where ADD copies them; BuildKit keys a git source by its
    // commit. So that two clones of one commit give the same .git, drop the reflogs (clone
    // times) and rebuild the index without stat data (times, inodes): `git status` refreshes it.
    await rm(join(dir, ".git", "logs"), { recursive: true, force: true });
    await rm(join(dir, ".git", "index"), { force: true });
    await git(["-C", dir, "read-tree", "HEAD"]);
  }
  return options.subdir === "" ? dir : resolveInContext(dir, options.subdir);
}
