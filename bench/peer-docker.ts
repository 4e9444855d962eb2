import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

/** Debian's 20.10 client: another docker CLI earlier on PATH may lack BuildKit (see ../shared/PEERS.md). */
const DOCKER = "/usr/bin/docker";
const DOCKERD = "/usr/sbin/dockerd";
/** A failure bound for the daemon's start and stop, not a speed expectation. */
const DEADLINE_MS = 120_000;

/** A dockerd this process started, with the environment that points the docker CLI at it. */
export interface PeerDocker {
  pid: number;
  env: NodeJS.ProcessEnv;
  /** Runs the docker CLI against this daemon; throws with its stderr on a failing status. */
  docker(args: string[], options?: { cwd?: string }): void;
  /** Stops the daemon by its PID, waits for it to go, removes its state. */
  stop(): Promise<void>;
}

/** True when docker's daemon and Debian's client are installed. */
export function dockerInstalled(): boolean {
  return existsSync(DOCKER) && existsSync(DOCKERD);
}

/**
 * Starts dockerd exactly as ../shared/PEERS.md says: no bridge, no iptables, state and socket
 * under `dir`, so it touches nothing of the host's networks and nothing of another daemon.
 * Builds against it must use `--network=host` (or none).
 */
export async function startPeerDocker(dir: string): Promise<PeerDocker> {
  await mkdir(dir, { recursive: true });
  const socket = join(dir, "docker.sock");
  const log = join(dir, "dockerd.log");
  const child = spawn(
    "sh",
    [
      "-c",
      `exec "$0" "$@" >"${log}" 2>&1`,
      DOCKERD,
      "--data-root", join(dir, "data"),
      "--exec-root", join(dir, "exec"),
      "--pidfile", join(dir, "dockerd.pid"),
      "-H", `unix://${socket}`,
      "--bridge=none", "--iptables=false", "--ip6tables=false", "--ip-masq=false", "--ipv6=false",
      "--userland-proxy=false", "--storage-driver=overlay2",
    ],
    { detached: true, stdio: "ignore" },
  );
  child.unref();
  const pid = child.pid;
  if (pid === undefined) throw new Error("Cannot start dockerd");
  let exited = false;
  child.on("exit", () => (exited = true));
  const env = { ...process.env, DOCKER_HOST: `unix://${socket}`, DOCKER_BUILDKIT: "1" };
  const docker = (args: string[], options: { cwd?: string } = {}) => {
    const result = spawnSync(DOCKER, args, { env, cwd: options.cwd, stdio: ["ignore", "ignore", "pipe"], encoding: "utf8" });
    if (result.status !== 0) throw new Error(`docker ${args.join(" ")} exited ${result.status}: ${result.stderr.trim().slice(0, 2000)}`);
  };
  const stop = async () => {
    if (!exited) {
      process.kill(pid, "SIGTERM");
      const deadline = Date.now() + DEADLINE_MS;
      while (!exited && Date.now() < deadline) await sleep(100);
      if (!exited) process.kill(pid, "SIGKILL");
    }
    // dockerd unmounts its overlays on a clean stop; anything left is unmounted before removal.
    for (const point of await mountsUnder(dir)) spawnSync("umount", ["-l", point]);
    await rm(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + DEADLINE_MS;
  for (;;) {
    if (exited) {
      const text = await readFile(log, "utf8").catch(() => "");
      await stop();
      throw new Error(`dockerd exited at start: ${text.trim().split("\n").slice(-3).join(" | ")}`);
    }
    if (spawnSync(DOCKER, ["info"], { env, stdio: "ignore" }).status === 0) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error("dockerd did not answer within two minutes");
    }
    await sleep(200);
  }
  return { pid, env, docker, stop };
}

async function mountsUnder(dir: string): Promise<string[]> {
  const text = await readFile("/proc/self/mountinfo", "utf8");
  return text
    .split("\n")
    .map((line) => line.split(" ")[4])
    .filter((point): point is string => point !== undefined && point.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
}
