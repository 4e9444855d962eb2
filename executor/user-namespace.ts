import { execFile, spawn } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { TsbuildError } from "../errors.js";
import { withFileLock } from "../store/file-lock.js";
import { formatProcessToken, isProcessAlive, parseProcessToken, readProcessStartTime } from "../store/process-identity.js";
import { formatIdMap, parseIdMap, type IdRange } from "../util/id-mapping.js";
import { isMissing } from "../util/stat-if-exists.js";
import { findExecutable } from "./oci-runtime.js";
import { readSubordinateIds, SUBGID_FILE, SUBUID_FILE, type SubordinateRange } from "./subordinate-ids.js";

/**
 * The user namespace of a rootless tsbuild, as podman keeps one: a "pause" process, made
 * once per user and runtime directory, holds a user namespace (root mapped to the user, the
 * user's subordinate ranges beyond) and a mount namespace owned by it. Every rootless
 * command joins both (`nsenter`), so all of them see the same mounts (snapshots of running
 * containers, what a killed build left for the next to reclaim) and may signal, enter and
 * delete each other's containers, which processes in two sibling namespaces could not.
 * Mounts made in it never reach the host's mount table.
 */

export interface RootlessUser {
  /** The host uid and gid of the user (never 0). */
  uid: number;
  gid: number;
  /** The login name, as /etc/subuid may name it. */
  name?: string;
}

export interface UserNamespaceOptions {
  /** The user's private runtime directory (see `rootlessRuntimeDir`): pause.pid and its lock. */
  runtimeDir: string;
  user: RootlessUser;
  /** Default /etc/subuid and /etc/subgid. */
  subuidFile?: string;
  subgidFile?: string;
}

/** The pause process and how its namespace maps ids. */
export interface PauseProcess {
  pid: number;
  /** `subordinate`: root and the subordinate ranges; `single`: root only (no ranges for the user). */
  uids: "subordinate" | "single";
  gids: "subordinate" | "single";
}

export const PAUSE_FILE = "pause.pid";
const LOCK_FILE = "pause.lock";

/** How long the pause process may take to say it has unshared: a failure bound, not a pace. */
const READY_TIMEOUT_MS = 60_000;

/**
 * The pause process of `runtimeDir`, started (and its ids mapped) when none is alive. One
 * whose map no longer matches /etc/subuid and /etc/subgid (the admin gave the user ranges,
 * or changed them) is replaced: commands already in it keep it, new ones get the new map.
 */
export async function ensureUserNamespace(options: UserNamespaceOptions): Promise<PauseProcess> {
  const wanted = await wantedMaps(options);
  const current = async () => {
    const pause = await readPauseProcess(options.runtimeDir);
    return pause !== undefined && (await mapsMatch(pause.pid, wanted)) ? pause : undefined;
  };
  const existing = await current();
  if (existing !== undefined) return existing;
  return withFileLock(join(options.runtimeDir, LOCK_FILE), async () => {
    // Another command may have made it while this one waited for the lock.
    const made = await current();
    if (made !== undefined) return made;
    const stale = await readPauseProcess(options.runtimeDir);
    if (stale !== undefined) process.kill(stale.pid, "SIGKILL");
    const pause = await startPauseProcess(options.user, wanted);
    const proc = { pid: pause.pid, startTime: readProcessStartTime(pause.pid) ?? 0 };
    await writeFile(join(options.runtimeDir, PAUSE_FILE), `${formatProcessToken(proc)} ${pause.uids} ${pause.gids}\n`, { mode: 0o600 });
    return pause;
  });
}

/** The maps a namespace of the user should have: root is the user, then the subordinate ranges. */
interface WantedMaps {
  uids: SubordinateRange[];
  gids: SubordinateRange[];
}

async function wantedMaps(options: UserNamespaceOptions): Promise<WantedMaps> {
  const { user } = options;
  const name = user.name === undefined ? {} : { name: user.name };
  const [uids, gids] = await Promise.all([
    readSubordinateIds(options.subuidFile ?? SUBUID_FILE, { id: user.uid, ...name }),
    readSubordinateIds(options.subgidFile ?? SUBGID_FILE, { id: user.gid, ...name }),
  ]);
  return { uids, gids };
}

/** The id map lines for the user's own id and `ranges`. */
function mapLines(own: number, ranges: readonly SubordinateRange[]): IdRange[] {
  const lines: IdRange[] = [{ inside: 0, outside: own, count: 1 }];
  let next = 1;
  for (const range of ranges) {
    lines.push({ inside: next, outside: range.start, count: range.count });
    next += range.count;
  }
  return lines;
}

async function mapsMatch(pid: number, wanted: WantedMaps): Promise<boolean> {
  const [uidMap, gidMap] = await Promise.all([readFile(`/proc/${pid}/uid_map`, "utf8"), readFile(`/proc/${pid}/gid_map`, "utf8")]).catch(() => ["", ""]);
  const own = (ranges: IdRange[]) => ranges[0]?.outside ?? -1;
  const uids = parseIdMap(uidMap);
  const gids = parseIdMap(gidMap);
  return formatIdMap(uids) === formatIdMap(mapLines(own(uids), wanted.uids)) && formatIdMap(gids) === formatIdMap(mapLines(own(gids), wanted.gids));
}

/** The live pause process recorded in `runtimeDir`, or undefined. */
export async function readPauseProcess(runtimeDir: string): Promise<PauseProcess | undefined> {
  let text: string;
  try {
    text = await readFile(join(runtimeDir, PAUSE_FILE), "utf8");
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw error;
  }
  const [token, uids, gids] = text.trim().split(" ");
  const owner = parseProcessToken(token ?? "");
  if (owner === undefined || !isProcessAlive(owner)) return undefined;
  const kind = (value: string | undefined) => (value === "single" ? "single" : "subordinate");
  return { pid: owner.pid, uids: kind(uids), gids: kind(gids) };
}

/** The command line that runs `argv` in the pause process's namespaces, as root there, in `cwd`. */
export function joinUserNamespaceCommand(pause: PauseProcess, argv: readonly string[], cwd: string): { file: string; args: string[] } {
  // Joining a mount namespace moves to its root directory; --wd keeps the caller's. A
  // namespace of one gid forbids setgroups(2), which nsenter's switch to root calls: there
  // the user's own ids, already root inside, are kept as they are.
  const credentials = pause.gids === "single" ? ["--preserve-credentials"] : [];
  return { file: "nsenter", args: ["--user", "--mount", `--target=${pause.pid}`, ...credentials, `--wd=${cwd}`, "--", ...argv] };
}

async function startPauseProcess(user: RootlessUser, wanted: WantedMaps): Promise<PauseProcess> {
  const [unshare, nsenter] = await Promise.all([findExecutable("unshare"), findExecutable("nsenter")]);
  if (unshare === undefined || nsenter === undefined) {
    throw new TsbuildError("ROOTLESS", "Cannot run rootless: unshare and nsenter (util-linux) are not installed", { hint: "apt-get install util-linux" });
  }
  // The holder unshares, says so, and sleeps for good once told to; if this process dies
  // before that (before the ids are mapped and its pid recorded), its stdin closes and it ends.
  // Slave propagation: the host's later mounts (an automounted home) show inside, ours never outside.
  const holder = spawn(unshare, ["--user", "--mount", "--propagation", "slave", "--", "sh", "-c", 'echo ready; read go && [ "$go" = go ] && exec sleep infinity'], {
    cwd: "/",
    detached: true,
    stdio: ["pipe", "pipe", "pipe"],
  });
  try {
    await holderReady(holder);
    const pid = holder.pid!;
    const uids = wanted.uids.length > 0 ? await mapWithHelper("newuidmap", pid, mapLines(user.uid, wanted.uids)) : await mapSingle(pid, "uid_map", user.uid);
    const gids = wanted.gids.length > 0 ? await mapWithHelper("newgidmap", pid, mapLines(user.gid, wanted.gids)) : await mapSingle(pid, "gid_map", user.gid);
    holder.stdin!.end("go\n");
    holder.stdout!.destroy();
    holder.stderr!.destroy();
    holder.unref();
    return { pid, uids, gids };
  } catch (error) {
    holder.kill("SIGKILL");
    throw error;
  }
}

function holderReady(holder: ReturnType<typeof spawn>): Promise<void> {
  return new Promise((resolve, reject) => {
    let said = "";
    let stderr = "";
    const timer = setTimeout(() => fail(`it did not start within ${READY_TIMEOUT_MS / 1000} s`), READY_TIMEOUT_MS);
    const fail = (why: string) => {
      clearTimeout(timer);
      reject(
        new TsbuildError("ROOTLESS", `Cannot run rootless: cannot create a user namespace: ${why}`, {
          hint: "Unprivileged user namespaces must be allowed (sysctl user.max_user_namespaces > 0; kernel.unprivileged_userns_clone=1 where it exists)",
        }),
      );
    };
    holder.stderr!.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString("utf8")).slice(-2000)));
    holder.stdout!.on("data", (chunk: Buffer) => {
      said += chunk.toString("utf8");
      if (said.startsWith("ready\n")) {
        clearTimeout(timer);
        resolve();
      }
    });
    holder.once("error", (error) => fail(error.message));
    holder.once("exit", (code) => fail(stderr.trim().split("\n").pop() || `unshare exited with status ${code}`));
  });
}

/** Root is the user; ids 1 and up are the subordinate ranges, one after the other. */
async function mapWithHelper(helper: "newuidmap" | "newgidmap", pid: number, lines: readonly IdRange[]): Promise<"subordinate"> {
  const path = await findExecutable(helper);
  const file = helper === "newuidmap" ? SUBUID_FILE : SUBGID_FILE;
  if (path === undefined) {
    throw new TsbuildError("ROOTLESS", `Cannot run rootless: ${helper} is not installed, so the ranges of ${file} cannot be mapped`, {
      hint: "apt-get install uidmap",
    });
  }
  const args = [String(pid), ...lines.flatMap((line) => [String(line.inside), String(line.outside), String(line.count)])];
  await new Promise<void>((resolve, reject) => {
    execFile(path, args, { encoding: "utf8", timeout: 30_000 }, (error, _stdout, stderr) => {
      if (error === null) return resolve();
      const why = stderr.trim().split("\n").pop() || error.message;
      reject(
        new TsbuildError("ROOTLESS", `Cannot run rootless: ${helper} refused the ranges of ${file}: ${why}`, {
          hint: `Check the user's lines in ${file} (user:start:count, not overlapping the user's own id) and that ${path} is setuid root`,
        }),
      );
    });
  });
  return "subordinate";
}

/**
 * Without subordinate ranges the user may still map their own id to root, alone: every
 * file then belongs to root inside. Writing gid_map unprivileged needs setgroups denied first.
 */
async function mapSingle(pid: number, map: "uid_map" | "gid_map", own: number): Promise<"single"> {
  try {
    if (map === "gid_map") await writeFile(`/proc/${pid}/setgroups`, "deny");
    await writeFile(`/proc/${pid}/${map}`, `0 ${own} 1\n`);
  } catch (error) {
    throw new TsbuildError("ROOTLESS", `Cannot run rootless: cannot map id ${own} into the user namespace: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
      hint: `Give the user ranges in ${SUBUID_FILE} and ${SUBGID_FILE} (see README: Rootless)`,
    });
  }
  return "single";
}
