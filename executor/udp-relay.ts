import { spawn, type ChildProcess } from "node:child_process";
import { createSocket } from "node:dgram";
import { isIPv6 } from "node:net";
import { TsbuildError } from "../errors.js";
import { findExecutable } from "./oci-runtime.js";
import { packageFile } from "../util/package-file.js";

/** How long the relay's process may take to start: a failure bound, not a pace. */
const READY_TIMEOUT_MS = 60_000;

/**
 * Published UDP ports of one sandbox network. slirp4netns forwards UDP into the namespace,
 * but the container sees the host's loopback peers as its gateway, and with
 * `--disable-host-loopback` (which keeps sandboxes from the host's 127.0.0.1) slirp4netns
 * drops every answer sent there (podman's and rootlesskit's known issue). So UDP goes
 * through a relay of our own, as rootlesskit's port driver does: this process binds the host
 * port, and a child entered into the namespace (udp-relay-child.ts) is handed the socket and
 * relays datagrams to and from the container's port on the namespace's loopback.
 */
export class UdpRelay {
  readonly #child: ChildProcess;

  private constructor(child: ChildProcess) {
    this.#child = child;
  }

  /** Starts the relay's process in the network namespace at `namespacePath`. */
  static async start(namespacePath: string): Promise<UdpRelay> {
    const nsenter = await findExecutable("nsenter");
    if (nsenter === undefined) throw new TsbuildError("SYSTEM", "Cannot publish UDP ports: nsenter (util-linux) is not installed", { hint: "Install util-linux" });
    const script = packageFile("dist/executor/udp-relay-child.js");
    const child = spawn(nsenter, [`--net=${namespacePath}`, "--", process.execPath, script], { stdio: ["ignore", "ignore", "pipe", "ipc"] });
    await answer(child, (message) => (message as { ready?: boolean }).ready === true, "start");
    return new UdpRelay(child);
  }

  /** Binds `hostIp:hostPort` on the host and relays it to `containerPort`; CONFLICT when the port is taken. */
  async forward(hostIp: string, hostPort: number, containerPort: number): Promise<void> {
    const socket = createSocket(isIPv6(hostIp) ? "udp6" : "udp4");
    await new Promise<void>((resolve, reject) => {
      socket.once("error", (error: NodeJS.ErrnoException) =>
        reject(
          new TsbuildError("CONFLICT", `Cannot publish port ${hostIp}:${hostPort}/udp: ${error.code === "EADDRINUSE" ? "the address is in use" : error.message}`, {
            hint: "Is the host port in use? Choose another one",
            cause: error,
          }),
        ),
      );
      socket.bind(hostPort, hostIp, () => resolve());
    });
    try {
      const relaying = answer(this.#child, (message) => (message as { relaying?: number }).relaying === containerPort, `relay port ${containerPort}`);
      this.#child.send({ containerPort }, socket as never);
      await relaying;
    } finally {
      socket.close(); // the child holds its own copy of the socket now (or the relay failed)
    }
  }

  /** Ends the relay's process and so every relayed port. */
  close(): void {
    if (this.#child.connected) this.#child.disconnect();
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill();
  }

  /** Lets this process exit while the relay runs (it ends when its channel closes). */
  unref(): void {
    this.#child.unref();
    this.#child.channel?.unref();
    (this.#child.stderr as { unref?: () => void } | null)?.unref?.();
  }
}

/** Resolves at the child's first message that `accepts`; rejects with its stderr when it ends first. */
function answer(child: ChildProcess, accepts: (message: unknown) => boolean, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let stderr = "";
    const onData = (chunk: Buffer) => (stderr = (stderr + chunk.toString("utf8")).slice(-2000));
    const cleanup = () => {
      clearTimeout(timer);
      child.off("message", onMessage);
      child.off("exit", onExit);
      child.off("error", onError);
      child.stderr?.off("data", onData);
    };
    const fail = (why: string) => {
      cleanup();
      reject(new TsbuildError("SYSTEM", `Cannot ${what} the UDP relay of a container's network: ${why}`));
    };
    const onMessage = (message: unknown) => {
      if (!accepts(message)) return;
      cleanup();
      resolve();
    };
    const onExit = (code: number | null) => fail(stderr.trim().split("\n").pop() || `it exited with status ${code}`);
    const onError = (error: Error) => fail(error.message);
    const timer = setTimeout(() => fail(`no answer within ${READY_TIMEOUT_MS / 1000} s`), READY_TIMEOUT_MS);
    child.stderr?.on("data", onData);
    child.on("message", onMessage);
    child.once("exit", onExit);
    child.once("error", onError);
  });
}
