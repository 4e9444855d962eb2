import { execFileSync, spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { chmod, chown, cp, mkdir, mkdtemp, readdir, readFile, readlink, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { listMountPoints } from "../../snapshotter/mount-table.js";
import { builtRoot, repoRoot } from "./repo-root.js";

/**
 * An ordinary user for the rootless tests, made by the test (which runs as root, as CI
 * does): `useradd`, and ranges in /etc/subuid and /etc/subgid, or none. Idempotent, and
 * safe when another test run on the machine made the same user first.
 */
export interface TestUser {
  name: string;
  uid: number;
  gid: number;
}

/** Makes `name` unless it exists; gives it subordinate ranges (or takes them away) as asked. */
export async function ensureTestUser(name: string, options: { subordinate: boolean }): Promise<TestUser> {
  if (lookup(name) === undefined) {
    // Another test run may make it at the same moment: its existence afterwards is what counts.
    spawnSync("useradd", ["--no-create-home", "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", name], { stdio: "ignore" });
  }
  const user = lookup(name);
  if (user === undefined) throw new Error(`Cannot create the test user "${name}"`);
  for (const file of ["/etc/subuid", "/etc/subgid"]) {
    const text = await readFile(file, "utf8").catch(() => "");
    const lines = text.split("\n").filter((line) => line !== "");
    const own = lines.filter((line) => line.startsWith(`${name}:`));
    if (options.subordinate && own.length === 0) {
      const end = Math.max(100000, ...lines.map((line) => Number(line.split(":")[1]) + Number(line.split(":")[2])).filter(Number.isFinite));
      const start = Math.ceil(end / 65536) * 65536;
      await replaceFile(file, [...lines, `${name}:${start}:65536`]);
    } else if (!options.subordinate && own.length > 0) {
      await replaceFile(file, lines.filter((line) => !line.startsWith(`${name}:`)));
    }
  }
  return user;
}

function lookup(name: string): TestUser | undefined {
  const result = spawnSync("getent", ["passwd", name], { encoding: "utf8" });
  if (result.status !== 0) return undefined;
  const [, , uid, gid] = result.stdout.trim().split(":");
  return { name, uid: Number(uid), gid: Number(gid) };
}

async function replaceFile(file: string, lines: string[]): Promise<void> {
  const temp = `${file}.tsbuild-test-${process.pid}`;
  await writeFile(temp, lines.map((line) => `${line}\n`).join(""), { mode: 0o644 });
  await rename(temp, file);
}

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * One rootless "login" of a test user: a temp directory with its HOME, XDG_DATA_HOME (the
 * default root goes there) and XDG_RUNTIME_DIR (the pause process and runtime state), the
 * fixtures copied where the user can read them, and the CLI (copied too when the checkout is
 * not readable by others). `close` kills every process in the user's namespace by PID, and
 * anything else the session started, unmounts what is left and removes the directory.
 */
export interface RootlessSession {
  user: TestUser;
  dir: string;
  home: string;
  runtimeDir: string;
  /** A copy of `fixtures/`, readable by the user. */
  fixtures: string;
  /** The CLI's main.js the user runs. */
  main: string;
  /** Runs tsbuild as the user (SOURCE_DATE_EPOCH=0 unless `env` says otherwise). */
  tsbuild(args: string[], options?: { cwd?: string; env?: Record<string, string>; input?: string }): Promise<CliResult>;
  /** Runs any program as the user, with the session's environment. */
  run(file: string, args: string[], options?: { cwd?: string; env?: Record<string, string>; input?: string }): Promise<CliResult>;
  /** A PID to kill at `close` (a daemon the test started as the user, outside the namespace). */
  track(pid: number): void;
  /** The PIDs in the user's namespace now (pause process included). */
  namespacePids(): Promise<number[]>;
  close(): Promise<void>;
}

export async function openRootlessSession(user: TestUser): Promise<RootlessSession> {
  const dir = await mkdtemp(join(tmpdir(), "tsb-rootless-"));
  await chmod(dir, 0o755);
  const home = join(dir, "home");
  const runtimeDir = join(dir, "run");
  const tracked: number[] = [];
  let namespace: string | undefined;
  const session: RootlessSession = {
    user,
    dir,
    home,
    runtimeDir,
    fixtures: join(dir, "fixtures"),
    main: join(builtRoot(), "cli", "main.js"),
    tsbuild: (args, options = {}) => session.run(process.execPath, [session.main, ...args], { ...options, env: { SOURCE_DATE_EPOCH: "0", ...options.env } }),
    run: (file, args, options = {}) => {
      const env = { HOME: home, XDG_DATA_HOME: join(home, "data"), XDG_RUNTIME_DIR: runtimeDir, PATH: process.env.PATH ?? "/usr/bin:/bin", ...options.env };
      const envArgs = Object.entries(env).map(([key, value]) => `${key}=${value}`);
      return runAs(["runuser", "-u", user.name, "--", "env", "-i", ...envArgs, file, ...args], options.cwd ?? home, options.input);
    },
    track: (pid) => tracked.push(pid),
    namespacePids: async () => {
      // Remembered: processes stay in the namespace after its pause process is gone.
      const pause = await pausePid(runtimeDir);
      if (pause !== undefined) namespace ??= await readlink(`/proc/${pause}/ns/user`).catch(() => undefined);
      return namespace === undefined ? [] : pidsInUserNamespace(namespace);
    },
    close: async () => {
      for (let round = 0; round < 600; round++) {
        const pids = [...(await session.namespacePids()), ...tracked.filter(isAlive)];
        if (pids.length === 0) break;
        for (const pid of pids) killQuietly(pid);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      // Mounts live in the namespace and went with it; anything on the host under dir is a leak to undo.
      const points = [...(await listMountPoints())].filter((point) => point.startsWith(`${dir}/`)).sort((a, b) => b.length - a.length);
      for (const point of points) spawnSync("umount", ["--lazy", point]);
      await rm(dir, { recursive: true, force: true });
    },
  };
  try {
    for (const sub of [home, runtimeDir]) {
      await mkdir(sub, { mode: 0o700 });
      await chown(sub, user.uid, user.gid);
    }
    await cp(join(repoRoot(), "fixtures"), session.fixtures, { recursive: true, verbatimSymlinks: true });
    execFileSync("chmod", ["-R", "a+rX", session.fixtures]);
    if (spawnSync("runuser", ["-u", user.name, "--", "test", "-r", session.main]).status !== 0) {
      // The checkout is private to root (a clone in /root): the user runs a copy.
      const app = join(dir, "app");
      await mkdir(app);
      for (const name of ["package.json", "node_modules"]) await cp(join(repoRoot(), name), join(app, name), { recursive: true });
      await cp(builtRoot(), join(app, "dist"), { recursive: true });
      execFileSync("chmod", ["-R", "a+rX", app]);
      session.main = join(app, "dist", "cli", "main.js");
    }
  } catch (error) {
    await session.close();
    throw error;
  }
  return session;
}

function runAs(argv: string[], cwd: string, input: string | undefined): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { cwd, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
    child.stdin.end(input ?? "");
    child.on("error", reject);
    child.on("close", (status) => resolve({ status, stdout, stderr }));
  });
}

/** The pause process's PID from `<runtime dir>/tsbuild/pause.pid`, while it lives. */
async function pausePid(runtimeDir: string): Promise<number | undefined> {
  const text = await readFile(join(runtimeDir, "tsbuild", "pause.pid"), "utf8").catch(() => "");
  const pid = Number(text.split("-")[0]);
  return Number.isInteger(pid) && pid > 0 && isAlive(pid) ? pid : undefined;
}

/** Every live process in the user namespace `namespace` (a /proc/PID/ns/user link; root reads them all). */
async function pidsInUserNamespace(namespace: string): Promise<number[]> {
  const found: number[] = [];
  for (const name of await readdir("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    if ((await readlink(`/proc/${name}/ns/user`).catch(() => undefined)) === namespace && isAlive(Number(name))) found.push(Number(name));
  }
  return found;
}

/** Running (a zombie has ended and only waits for its parent). */
function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(")") + 2));
  } catch {
    return false;
  }
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // gone meanwhile
  }
}
