import { createSocket } from "node:dgram";
import { createServer } from "node:net";
import type { SandboxNetwork } from "../executor/sandbox-network.js";
import type { PortBinding } from "./port-bindings.js";

/**
 * Forwards each binding's host port into the container's network, picking a free host port
 * for those that ask for any (`-p 80`, `-P`), and returns the bindings as published.
 */
export async function publishPorts(network: SandboxNetwork, bindings: readonly PortBinding[]): Promise<PortBinding[]> {
  const published: PortBinding[] = [];
  for (const binding of bindings) {
    const hostPort = binding.hostPort !== 0 ? binding.hostPort : await freePort(binding);
    const actual = { ...binding, hostPort };
    await network.forward(actual);
    published.push(actual);
  }
  return published;
}

/**
 * A port the kernel deems free on the binding's address now, as docker picks from the
 * ephemeral range. slirp4netns cannot be asked for "any port", so it is taken right after.
 */
async function freePort(binding: PortBinding): Promise<number> {
  if (binding.protocol === "udp") {
    const socket = createSocket("udp4");
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.bind(0, binding.hostIp, resolve);
    });
    const { port } = socket.address();
    await new Promise<void>((done) => socket.close(done));
    return port;
  }
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, binding.hostIp, resolve);
  });
  const address = server.address();
  await new Promise((done) => server.close(done));
  return typeof address === "object" && address !== null ? address.port : 0;
}
