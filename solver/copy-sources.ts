import { createHash } from "node:crypto";
import { constants, createReadStream, lstatSync, readdirSync, readlinkSync, type Stats } from "node:fs";
import { readdir, readFile, readlink } from "node:fs/promises";
import { posix } from "node:path";
import { TsbuildError } from "../errors.js";
import { resolveInRoot } from "../executor/resolve-in-root.js";
import { DockerignoreMatcher } from "../frontend/dockerignore.js";
import type { CopyAction } from "../frontend/graph.js";
import { mapLimit } from "./map-limit.js";
import { IgnoredPathError, resolveInContext } from "./resolve-in-context.js";
import { lstatIfExists } from "../util/stat-if-exists.js";
import { compileGoPathMatch } from "../util/go-path-match.js";
import { readStartSync, SMALL_FILE_SYNC } from "../util/read-small-file.js";

/** One file, directory or symlink a COPY reads. */
export interface SourceEntry {
  hostPath: string;
  /** Relative to its match (`""` for the match itself), `/`-separated. */
  rel: string;
  /** lstat, except for a match followed through a symlink. */
  stat: SourceStat;
  linkTarget?: string;
}

/** What a copy reads of an entry's lstat. */
export type SourceStat = Pick<
  Stats,
  "mode" | "uid" | "gid" | "size" | "ino" | "dev" | "atimeMs" | "mtimeMs" | "ctimeMs" | "atime" | "mtime" | "isFile" | "isDirectory" | "isSymbolicLink" | "isSocket"
>;

const { S_IFMT, S_IFREG, S_IFDIR, S_IFLNK, S_IFSOCK } = constants;

/**
 * The facts of a Node `Stats` a copy reads, kept in their place. A Stats is ~850 bytes (its
 * fields boxed, four Dates made up front): a 20,000-file context kept 17 MB of them alive
 * from the walk to the copy, for the garbage collector to copy on every young-generation
 * collection. This is a fifth of that; the Stats it came from dies young, where it costs
 * nearly nothing. Times as Dates are made when asked for, as Node makes them (ms rounded).
 */
class EntryStat implements SourceStat {
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly size: number;
  readonly ino: number;
  readonly dev: number;
  readonly atimeMs: number;
  readonly mtimeMs: number;
  readonly ctimeMs: number;

  constructor(stat: Stats) {
    this.mode = stat.mode;
    this.uid = stat.uid;
    this.gid = stat.gid;
    this.size = stat.size;
    this.ino = stat.ino;
    this.dev = stat.dev;
    this.atimeMs = stat.atimeMs;
    this.mtimeMs = stat.mtimeMs;
    this.ctimeMs = stat.ctimeMs;
  }

  get atime(): Date {
    return new Date(Math.round(this.atimeMs));
  }

  get mtime(): Date {
    return new Date(Math.round(this.mtimeMs));
  }

  isFile(): boolean {
    return (this.mode & S_IFMT) === S_IFREG;
  }

  isDirectory(): boolean {
    return (this.mode & S_IFMT) === S_IFDIR;
  }

  isSymbolicLink(): boolean {
    return (this.mode & S_IFMT) === S_IFLNK;
  }

  isSocket(): boolean {
    return (this.mode & S_IFMT) === S_IFSOCK;
  }
}

/** One path the COPY's source pattern matched, with everything below it. */
export interface SourceMatch {
  /** The base name the match is copied under. */
  name: string;
  entries: SourceEntry[];
}

export interface CollectOptions {
  /** `context`: symlinks out are errors and ignore patterns apply; `rootfs`: a snapshot, `/` is its root. */
  kind: "context" | "rootfs";
  /** `.dockerignore` patterns of the context (relative to its root). */
  ignore?: readonly string[];
}

const GLOB_META = /[*?[\\]/;
/** File operations in flight at once while walking, hashing and copying. */
export const IO_PARALLELISM = 32;

/**
 * The files a copy action reads from `root`, in a stable order: its source (a path or a
 * wildcard pattern, as Go's filepath.Match reads it) resolved inside the root without
 * leaving it, each directory walked, ignored paths and `--exclude` patterns left out.
 */
export async function collectCopySources(root: string, action: CopyAction, options: CollectOptions): Promise<SourceMatch[]> {
  const ignore = options.ignore && options.ignore.length > 0 ? new DockerignoreMatcher(options.ignore) : undefined;
  const exclude = action.excludePatterns.length > 0 ? new DockerignoreMatcher(action.excludePatterns) : undefined;
  const resolveIn = (path: string, followFinal: boolean) =>
    options.kind === "context" ? resolveInContext(root, path, { followFinal, ...(ignore === undefined ? {} : { ignore }) }) : resolveInRoot(root, path, { followFinal });

  const src = posix.normalize(`/${action.src}`);
  const paths = action.allowWildcard && GLOB_META.test(src) ? await expandPattern(src, resolveIn, ignore) : [src];
  if (paths.length === 0 && !action.allowEmptyWildcard) {
    throw new TsbuildError("FILE_NOT_FOUND", `Cannot copy "${action.src}": no source files were specified`);
  }
  for (const required of action.requiredPaths) {
    const host = await resolveIn(posix.normalize(`/${required}`), false);
    if ((await lstatIfExists(host)) === undefined) throw notFound(required, options.kind, false);
  }
  const include = action.includePatterns.length > 0 ? new DockerignoreMatcher(action.includePatterns) : undefined;
  const matches: SourceMatch[] = [];
  for (const path of paths) {
    if (exclude?.isExcluded(posix.basename(path)) && paths.length > 1) continue;
    if (ignore?.isExcluded(path) && !(path === "/")) {
      if (paths.length === 1) throw notFound(action.src, options.kind, true);
      continue;
    }
    const hostPath = await resolveIn(path, action.followSymlinks);
    const stat = await lstatIfExists(hostPath);
    if (stat === undefined) throw notFound(action.src, options.kind, false);
    const entries: SourceEntry[] = [];
    const top: SourceEntry = { hostPath, rel: "", stat: new EntryStat(stat) };
    if (stat.isSymbolicLink()) top.linkTarget = await readlink(hostPath);
    entries.push(top);
    if (stat.isDirectory()) walk(hostPath, "", path, entries, { ignore, exclude });
    matches.push({ name: posix.basename(path) || "/", entries: include === undefined ? entries : onlyIncluded(entries, include) });
  }
  return matches;
}

/**
 * A digest of exactly what `matches` would copy from a context: names, types, modes, link
 * targets and contents. No times, and no owners: a context's files land owned by root.
 */
export async function checksumSources(matches: readonly SourceMatch[], digests?: DigestCache): Promise<string> {
  return checksumLines(await sourceLines(matches, digests));
}

/** Remembers file contents' digests across builds, by what stat says of the file. */
export interface DigestCache {
  /** The remembered digest of the file at `path` when `stat` still fits it; a hit counts as remembered again. */
  lookup(path: string, stat: SourceStat): string | undefined;
  remember(path: string, stat: SourceStat, digest: string): void;
}

/** The digest of lines from `sourceLines`. */
export function checksumLines(lines: readonly string[]): string {
  // One update of every line and its newline: the same bytes as a line at a time, one native call.
  const text = lines.length === 0 ? "" : `${lines.join("\n")}\n`;
  return `sha256:${createHash("sha256").update(text).digest("hex")}`;
}

/**
 * One line per entry: `<match>/<path> <type> <mode> <sha256 or link target>`, the facts a
 * checksum covers, kept so a cache miss can say which file changed.
 */
export async function sourceLines(matches: readonly SourceMatch[], digests?: DigestCache): Promise<string[]> {
  const lines: string[] = [];
  for (const match of matches) {
    // Digests known already (this process, or remembered from the last build) are taken in
    // one pass; only the files left are read, side by side.
    const contents = match.entries.map((entry) => (entry.stat.isFile() ? knownDigest(entry.hostPath, entry.stat, digests) : (entry.linkTarget ?? "")));
    const unknown = contents.flatMap((content, i) => (content === undefined ? [i] : []));
    await mapLimit(unknown, IO_PARALLELISM, async (i) => {
      contents[i] = await fileDigest(match.entries[i].hostPath, match.entries[i].stat, digests);
    });
    for (const [i, entry] of match.entries.entries()) {
      const { stat } = entry;
      const type = stat.isDirectory() ? "dir" : stat.isSymbolicLink() ? "link" : stat.isFile() ? "file" : "other";
      const path = entry.rel === "" ? match.name : match.name === "/" ? entry.rel : `${match.name}/${entry.rel}`;
      lines.push(`${JSON.stringify(path)} ${type} ${(stat.mode & 0o7777).toString(8)} ${contents[i]}`);
    }
  }
  return lines;
}

// Contents are remembered by path, and trusted while size, mtime, ctime, inode and device
// are the same, for the life of the process, so a build that reads a file twice (a COPY
// and a bind mount) hashes it once.
interface Memo {
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
  dev: number;
  digest: string;
}
const digestMemo = new Map<string, Memo>();
const MAX_MEMO_ENTRIES = 200_000;
const SMALL_FILE = 1024 * 1024;

/** The digest of a file's contents when this process or `digests` knows it, without reading it. */
function knownDigest(path: string, stat: SourceStat, digests: DigestCache | undefined): string | undefined {
  const memo = digestMemo.get(path);
  if (memo !== undefined && memo.size === stat.size && memo.mtimeMs === stat.mtimeMs && memo.ctimeMs === stat.ctimeMs && memo.ino === stat.ino && memo.dev === stat.dev) {
    digests?.remember(path, stat, memo.digest);
    return memo.digest;
  }
  // The cache notes what it answered itself (it is to be saved again).
  return digests?.lookup(path, stat);
}

async function fileDigest(path: string, stat: SourceStat, digests: DigestCache | undefined): Promise<string> {
  const hash = createHash("sha256");
  const small = stat.size <= SMALL_FILE_SYNC ? readSmallFileSync(path) : undefined;
  // One read call for other small files: a stream per file costs more.
  if (small !== undefined) hash.update(small);
  else if (stat.size <= SMALL_FILE) hash.update(await readFile(path));
  else for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) hash.update(chunk as Buffer);
  const digest = hash.digest("hex");
  if (digestMemo.size >= MAX_MEMO_ENTRIES) digestMemo.clear();
  digestMemo.set(path, { size: stat.size, mtimeMs: stat.mtimeMs, ctimeMs: stat.ctimeMs, ino: stat.ino, dev: stat.dev, digest });
  digests?.remember(path, stat, digest);
  return digest;
}

/** One buffer for the small files read synchronously (util/read-small-file.ts), with room to see one grow. */
const syncReadBuffer = Buffer.allocUnsafe(SMALL_FILE_SYNC + 1);

/** The bytes of a small file (a view of the shared buffer, used before the next call), or undefined when it has grown past SMALL_FILE_SYNC. */
function readSmallFileSync(path: string): Buffer | undefined {
  const filled = readStartSync(path, syncReadBuffer, 0, syncReadBuffer.length);
  return filled > SMALL_FILE_SYNC ? undefined : syncReadBuffer.subarray(0, filled);
}

/**
 * Walks `dir` depth first, each directory's names sorted, appending what is kept to
 * `entries`. Synchronous on purpose: the walk is bound by CPU (the kernel's dentry cache
 * answers every lstat), and a promise, a thread-pool round trip and their garbage per
 * entry cost several times the lstat itself (20,000 entries: ~60 ms here against ~300 ms).
 * Errors are the same as the promise calls' (same codes, same messages).
 */
function walk(
  dir: string,
  rel: string,
  containerPath: string,
  entries: SourceEntry[],
  filters: { ignore: DockerignoreMatcher | undefined; exclude: DockerignoreMatcher | undefined },
): void {
  const names = readdirSync(dir).sort();
  const prefix = dir.endsWith("/") ? dir : `${dir}/`;
  const filtered = filters.ignore !== undefined || filters.exclude !== undefined;
  for (const name of names) {
    const childRel = rel === "" ? name : `${rel}/${name}`;
    const hostPath = prefix + name;
    const stat: SourceStat = new EntryStat(lstatSync(hostPath));
    if (filtered) {
      const childPath = posix.join(containerPath, name);
      if (filters.ignore?.isExcluded(childPath) || filters.exclude?.isExcluded(childRel)) {
        // An excluded directory may still hold a re-included path (`!dir/keep`).
        const mayInclude = (filters.ignore?.mayIncludeBelow(childPath) ?? false) || (filters.exclude?.mayIncludeBelow(childRel) ?? false);
        if (stat.isDirectory() && mayInclude) walk(hostPath, childRel, childPath, entries, filters);
        continue;
      }
    }
    const entry: SourceEntry = { hostPath, rel: childRel, stat };
    if (stat.isSymbolicLink()) entry.linkTarget = readlinkSync(hostPath);
    entries.push(entry);
    if (stat.isDirectory()) walk(hostPath, childRel, posix.join(containerPath, name), entries, filters);
  }
}

/**
 * `COPY --parents`: the entries a pattern matches (or that lie below a matched directory),
 * with the directories leading to them, so their paths are kept.
 */
function onlyIncluded(entries: SourceEntry[], include: DockerignoreMatcher): SourceEntry[] {
  // The matcher's "excluded" is "matches or a parent matches": what --parents keeps.
  const kept = new Set(entries.filter((entry) => entry.rel !== "" && include.isExcluded(entry.rel)).map((entry) => entry.rel));
  for (const rel of [...kept]) {
    for (let dir = posix.dirname(rel); dir !== "."; dir = posix.dirname(dir)) kept.add(dir);
  }
  return entries.filter((entry) => entry.rel === "" || kept.has(entry.rel));
}

/** Expands a wildcard path component by component (Go's filepath.Glob), sorted. */
async function expandPattern(
  pattern: string,
  resolveIn: (path: string, followFinal: boolean) => Promise<string>,
  ignore: DockerignoreMatcher | undefined,
): Promise<string[]> {
  let current = ["/"];
  for (const part of pattern.split("/").filter((p) => p !== "")) {
    const next: string[] = [];
    for (const dir of current) {
      if (!GLOB_META.test(part)) {
        next.push(posix.join(dir, part.replace(/\\(.)/g, "$1")));
        continue;
      }
      const hostDir = await resolveIn(dir, true).catch(missingIfIgnored);
      const names = hostDir === undefined ? [] : await readdir(hostDir).catch(() => [] as string[]);
      const matcher = compileGlob(part);
      for (const name of names.sort()) {
        const path = posix.join(dir, name);
        if (matcher(name) && !ignore?.isExcluded(path)) next.push(path);
      }
    }
    current = next;
  }
  const existing: string[] = [];
  for (const path of current) {
    const host = await resolveIn(path, false).catch(missingIfIgnored);
    if (host !== undefined && (await lstatIfExists(host))) existing.push(path);
  }
  return existing;
}

/** An ignored path is one a wildcard does not match; any other error stands. */
function missingIfIgnored(error: unknown): undefined {
  if (error instanceof IgnoredPathError) return undefined;
  throw error;
}

/** Go's path.Match for one component; a malformed pattern is a Dockerfile error, as in BuildKit. */
export function compileGlob(pattern: string): (name: string) => boolean {
  const matcher = compileGoPathMatch(pattern);
  if (matcher === undefined) throw new TsbuildError("DOCKERFILE_SYNTAX", `Cannot match "${pattern}": syntax error in pattern`);
  return matcher;
}

function notFound(src: string, kind: CollectOptions["kind"], ignored: boolean): TsbuildError {
  const where = kind === "context" ? "the build context" : "the source stage";
  // BuildKit's words first (its content hash of the source finds nothing), then ours.
  const path = JSON.stringify(posix.normalize(`/${src}`));
  const reason = `no such file or directory in ${where}${ignored ? " (it is excluded by .dockerignore)" : ""}`;
  return new TsbuildError("FILE_NOT_FOUND", `failed to calculate checksum of ref ${kind}: ${path}: not found: ${reason}`);
}
