import { spawn, type ChildProcess } from "node:child_process";
import { connect } from "node:net";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable, Writable } from "node:stream";
import { TsbuildError } from "../errors.js";
import { findExecutable } from "./oci-runtime.js";
import { UdpRelay } from "./udp-relay.js";

/**
 * slirp4netns's fixed addressing (its defaults, 10.0.2.0/24): the sandbox is 10.0.2.100,
 * the gateway 10.0.2.2, and slirp4netns answers DNS on 10.0.2.3 with the host's resolvers.
 */
export const SANDBOX_NETWORK = { address: "10.0.2.100", gateway: "10.0.2.2", dns: "10.0.2.3" } as const;

/** A port of the host forwarded into the sandbox (`-p`). */
export interface PortForward {
  protocol: "tcp" | "udp";
  /** The host address to listen on; `0.0.0.0` for every address. */
  hostIp: string;
  hostPort: number;
  containerPort: number;
}

/** A network namespace of its own with outbound access through slirp4netns; see `openSandboxNetwork`. */
export interface SandboxNetwork {
  /** The namespace for the runtime spec to join (`/proc/<pid>/ns/net` of the process holding it). */
  namespacePath: string;
  /** The sandbox's /etc/resolv.conf: slirp4netns's DNS forwarder, with the host's search domains and options. */
  resolvConf: string;
  /** Forwards a host port into the sandbox; CONFLICT when the host port is taken. */
  forward(port: PortForward): Promise<void>;
  /** Stops slirp4netns and lets the namespace go (it lives on while a process is in it). */
  close(): Promise<void>;
  /** True while slirp4netns and the namespace's holder both run. */
  alive(): boolean;
  /** Lets this process exit while the network is open (both helpers end when its pipes close). */
  unref(): void;
}

export interface OpenSandboxNetworkOptions {
  /** Open slirp4netns's API socket, which `forward` needs. */
  portForwarding?: boolean;
}

/** How long slirp4netns and the namespace's holder may take to come up: a failure bound, not a pace. */
const READY_TIMEOUT_MS = 60_000;

/**
 * Gives a sandbox the network `docker run` and `docker build` give by default, without a
 * daemon or a bridge on the host: a network namespace of its own (its own loopback), and
 * slirp4netns, a user-space TCP/IP stack, turning its packets into ordinary sockets of this
 * host for outbound TCP, UDP and DNS. `--disable-host-loopback` keeps the gateway from
 * leading to the host's 127.0.0.1, so a build cannot reach services bound to the host's
 * loopback (a registry, a database). Nothing on the host changes: no interface, no route,
 * no firewall rule. Both processes end when this process dies (their pipes close).
 */
export async function openSandboxNetwork(options: OpenSandboxNetworkOptions = {}): Promise<SandboxNetwork> {
  const [unshare, slirp] = await Promise.all([findExecutable("unshare"), findExecutable("slirp4netns")]);
  if (slirp === undefined || unshare === undefined) {
    throw new TsbuildError("SYSTEM", `Cannot give the sandbox a network of its own: ${slirp === undefined ? "slirp4netns" : "unshare"} is not installed`, {
      hint: "Install slirp4netns (scripts/setup.sh does), or use --network=host",
    });
  }
  // In a short directory of its own: a socket's path must fit in 108 bytes, and a root's may not.
  const socketDir = options.portForwarding === true ? await mkdtemp(join(tmpdir(), "tsbuild-net-")) : undefined;
  const apiSocket = socketDir === undefined ? undefined : join(socketDir, "api.sock");
  const removeSocketDir = async () => {
    if (socketDir !== undefined) await rm(socketDir, { recursive: true, force: true });
  };
  // The holder keeps the namespace until its stdin closes: when we close it, or die.
  const holder = spawn(unshare, ["--net", "--", "sh", "-c", "echo ready; read _"], { stdio: ["pipe", "pipe", "pipe"] });
  const children: ChildProcess[] = [holder];
  try {
    // Only after the holder has unshared may slirp4netns enter its namespace: before, it is the host's.
    await readyLine(holder, holder.stdout!, "ready\n", "the network namespace");
    const args = ["--configure", "--mtu=65520", "--disable-host-loopback", "--enable-sandbox", "--exit-fd=3", "--ready-fd=4"];
    if (apiSocket !== undefined) args.push(`--api-socket=${apiSocket}`);
    const slirpProcess = spawn(slirp, [...args, String(holder.pid), "tap0"], { stdio: ["ignore", "ignore", "pipe", "pipe", "pipe"] });
    children.push(slirpProcess);
    await readyLine(slirpProcess, slirpProcess.stdio[4] as Readable, "1", "slirp4netns");
  } catch (error) {
    await stopAll(children);
    await removeSocketDir();
    throw error;
  }
  const namespacePath = `/proc/${holder.pid}/ns/net`;
  // UDP is relayed by a process of our own (see udp-relay.ts), started with the first UDP port.
  let udpRelay: Promise<UdpRelay> | undefined;
  let unrefed = false;
  return {
    namespacePath,
    resolvConf: await sandboxResolvConf(),
    forward: async (port) => {
      if (port.protocol === "tcp") return forwardPort(apiSocket, port);
      udpRelay ??= UdpRelay.start(namespacePath).then((relay) => {
        if (unrefed) relay.unref();
        return relay;
      });
      await (await udpRelay).forward(port.hostIp, port.hostPort, port.containerPort);
    },
    close: async () => {
      (await udpRelay?.catch(() => undefined))?.close(); // a relay that failed to start was that forward's error
      await stopAll(children);
      await removeSocketDir();
    },
    alive: () => children.every((child) => child.exitCode === null && child.signalCode === null),
    unref: () => {
      unrefed = true;
      void udpRelay?.then((relay) => relay.unref(), () => undefined);
      for (const child of children) {
        child.unref();
        for (const stream of child.stdio) (stream as { unref?: () => void } | null)?.unref?.();
      }
    },
  };
}

/** Resolves once `stream` has said `expected`; rejects with the process's stderr when it ends first. */
function readyLine(child: ChildProcess, stream: Readable, expected: string, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let said = "";
    let stderr = "";
    child.stderr?.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString("utf8")).slice(-2000)));
    const timer = setTimeout(() => fail(`it was not ready within ${READY_TIMEOUT_MS / 1000} s`), READY_TIMEOUT_MS);
    const fail = (why: string) => {
      clearTimeout(timer);
      reject(new TsbuildError("SYSTEM", `Cannot set up ${what} of a sandbox: ${why}`, { hint: "Check that slirp4netns works here, or use --network=host" }));
    };
    stream.on("data", (chunk: Buffer) => {
      said += chunk.toString("utf8");
      if (said.startsWith(expected)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once("error", (error) => fail(error.message));
    child.once("exit", (code) => fail(stderr.trim().split("\n").pop() || `it exited with status ${code}`));
  });
}

/** Ends each process by closing its pipes (slirp4netns's exit fd, the holder's stdin), then waits for it. */
async function stopAll(children: ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map(async (child) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((done) => child.once("exit", () => done()));
      (child.stdio[3] as Writable | undefined)?.destroy();
      child.stdin?.destroy();
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    }),
  );
}

/** One request to slirp4netns's API socket (one JSON object per connection, answered with one). */
function forwardPort(apiSocket: string | undefined, port: PortForward): Promise<void> {
  if (apiSocket === undefined) return Promise.reject(new TsbuildError("INTERNAL", "Cannot forward a port: the sandbox network has no API socket"));
  const request = { execute: "add_hostfwd", arguments: { proto: port.protocol, host_addr: port.hostIp, host_port: port.hostPort, guest_port: port.containerPort } };
  return new Promise((resolve, reject) => {
    const socket = connect(apiSocket);
    let reply = "";
    socket.on("data", (chunk: Buffer) => (reply += chunk.toString("utf8")));
    socket.once("error", (error) => reject(new TsbuildError("SYSTEM", `Cannot publish port ${port.hostPort}: ${error.message}`, { cause: error })));
    socket.once("close", () => {
      let parsed: { error?: { desc?: string } } = {};
      try {
        parsed = JSON.parse(reply) as typeof parsed;
      } catch {
        parsed = { error: { desc: `unreadable reply "${reply.slice(0, 200)}"` } };
      }
      if (parsed.error === undefined) return resolve();
      reject(
        new TsbuildError("CONFLICT", `Cannot publish port ${port.hostIp}:${port.hostPort}/${port.protocol}: ${parsed.error.desc ?? "refused"}`, {
          hint: "Is the host port in use? Choose another one",
        }),
      );
    });
    socket.end(JSON.stringify(request));
  });
}

/**
 * A resolv.conf with `nameservers` (default: slirp4netns's DNS forwarder) and the host's
 * search domains and options.
 */
export async function sandboxResolvConf(nameservers: readonly string[] = [SANDBOX_NETWORK.dns], hostPath = "/etc/resolv.conf"): Promise<string> {
  const host = await readFile(hostPath, "utf8").catch(() => "");
  const kept = host.split("\n").filter((line) => /^\s*(search|domain|options)\s/.test(line));
  return [...nameservers.map((server) => `nameserver ${server}`), ...kept].join("\n") + "\n";
}
