import { execFile } from "node:child_process";
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { TsbuildError } from "../errors.js";
import { cancelledError } from "../util/cancelled-error.js";
import { resolveInContext } from "./resolve-in-context.js";

const execFileAsync = promisify(execFile);

export interface CloneGitOptions {
  /** A branch, tag or commit; empty for the remote's default branch. */
  ref: string;
  /** The commit `ref` names, when known (from `resolveGitCommit`): fetched alone, shallow, where the server allows. */
  commit?: string;
  /** The directory of the repository to use; empty for all of it. */
  subdir: string;
  keepGitDir: boolean;
  /** `ADD --checksum`: the commit (or a prefix of its hash) the ref must resolve to. */
  checksum?: string;
  signal?: AbortSignal;
}

const FULL_COMMIT = /^[0-9a-f]{40}$/;

/**
 * The commit `ref` names on `remote`, asked with `git ls-remote` (nothing is cloned): a
 * branch, a tag (peeled to its commit), a full ref name, or HEAD for an empty ref. A full
 * commit id is its own answer. Undefined when the remote lists no such ref (an abbreviated
 * commit, say): only a clone can tell.
 */
export async function resolveGitCommit(remote: string, ref: string, options: { signal?: AbortSignal } = {}): Promise<string | undefined> {
  if (FULL_COMMIT.test(ref)) return ref;
  const { stdout } = await runGit(["ls-remote", "--", remote, ...(ref === "" ? ["HEAD"] : [])], { remote, ref, ...options });
  const refs = new Map<string, string>();
  for (const line of stdout.split("\n")) {
    const [commit, name] = line.split("\t");
    if (commit !== undefined && name !== undefined) refs.set(name, commit);
  }
  if (ref === "") return refs.get("HEAD");
  const names = ref.startsWith("refs/") ? [`${ref}^{}`, ref] : [`refs/tags/${ref}^{}`, `refs/tags/${ref}`, `refs/heads/${ref}`];
  for (const name of names) {
    const commit = refs.get(name);
    if (commit !== undefined) return commit;
  }
  return undefined;
}

/**
 * ADD's git source: gets `remote` at `ref` into `dir` with the git program (the one commit,
 * shallow, when it is known and the server serves it; else a clone), then answers the
 * directory to copy from (the subdir, which may not leave the checkout) and the commit.
 * `.git` is removed unless kept, as BuildKit does.
 */
export async function cloneGit(remote: string, dir: string, options: CloneGitOptions): Promise<{ path: string; commit: string }> {
  checkGitChecksum(options.checksum, options.commit);
  const git = (args: string[]) => runGit(args, { remote, ref: options.ref, ...(options.signal === undefined ? {} : { signal: options.signal }) });
  const commit = options.commit ?? (FULL_COMMIT.test(options.ref) ? options.ref : undefined);
  let fetched = false;
  if (commit !== undefined) {
    await mkdir(dir, { recursive: true });
    await git(["init", "--quiet", dir]);
    // Servers may refuse a commit they do not advertise (and dumb HTTP cannot do shallow): then clone.
    fetched = await git(["-C", dir, "fetch", "--quiet", "--depth", "1", "--", remote, commit]).then(
      () => true,
      (error: unknown) => {
        if (options.signal?.aborted) throw error;
        return false;
      },
    );
    if (fetched) await git(["-C", dir, "checkout", "--quiet", "--detach", commit]);
    else await rm(dir, { recursive: true, force: true });
  }
  if (!fetched) {
    await git(["clone", "--quiet", "--no-checkout", "--", remote, dir]);
    await git(["-C", dir, "checkout", "--quiet", "--detach", commit ?? (options.ref === "" ? "HEAD" : options.ref)]);
  }
  // A repository without submodules (or with ones that cannot be fetched) is still usable as it is.
  await git(["-C", dir, "submodule", "update", "--quiet", "--init", "--recursive", ...(fetched ? ["--depth", "1"] : [])]).catch(() => undefined);
  const head = (await git(["-C", dir, "rev-parse", "HEAD"])).stdout.trim();
  checkGitChecksum(options.checksum, head);
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
  return { path: options.subdir === "" ? dir : await resolveInContext(dir, options.subdir), commit: head };
}

/**
 * `ADD --checksum` of a git source: a commit hash (or a prefix of one) that the ref must
 * resolve to, in BuildKit's words (source/git). `commit` undefined checks the syntax only.
 */
export function checkGitChecksum(checksum: string | undefined, commit: string | undefined): void {
  if (checksum === undefined) return;
  if (!/^[0-9a-f]+$/.test(checksum)) throw new TsbuildError("DOCKERFILE_SYNTAX", `invalid checksum ${checksum} for Git URL, expected hex commit hash`);
  if (commit !== undefined && !commit.startsWith(checksum)) throw new TsbuildError("DIGEST_MISMATCH", `expected checksum to match ${checksum}, got ${commit}`);
}

async function runGit(args: string[], context: { remote: string; ref: string; signal?: AbortSignal }): Promise<{ stdout: string }> {
  const env = { ...process.env, GIT_TERMINAL_PROMPT: "0", GIT_ASKPASS: "true" };
  try {
    return await execFileAsync("git", args, { env, maxBuffer: 16 * 1024 * 1024, ...(context.signal === undefined ? {} : { signal: context.signal }) });
  } catch (error) {
    if (context.signal?.aborted) throw cancelledError(`Fetching "${context.remote}" was cancelled`, context.signal, error);
    const stderr = (error as { stderr?: string }).stderr?.trim().split("\n").pop() ?? (error as Error).message;
    const missing = (error as NodeJS.ErrnoException).code === "ENOENT";
    throw new TsbuildError(missing ? "SYSTEM" : "FILE_NOT_FOUND", `Cannot clone "${context.remote}"${context.ref === "" ? "" : ` at "${context.ref}"`}: ${missing ? "git is not installed" : stderr}`, {
      cause: error,
      ...(missing ? { hint: "Install git: apt-get install git" } : {}),
    });
  }
}
