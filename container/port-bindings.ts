import { isIPv4 } from "node:net";
import { TsbuildError } from "../errors.js";
import type { PortForward } from "../executor/sandbox-network.js";

/** A published port as `-p` asked for it: host port 0 means one the shim picks at each start (`-p 80`, `-P`). */
export type PortBinding = PortForward;

/**
 * Parses docker's `-p [IP:][HOST-PORT:]CONTAINER-PORT[/tcp|udp]`. Without an IP the port is
 * published on every address of the host (`0.0.0.0`), as docker does.
 */
export function parsePortBinding(spec: string): PortBinding {
  const fail = (why: string) =>
    new TsbuildError("USAGE", `Cannot parse port "${spec}": ${why}`, { hint: "Use [IP:][HOST-PORT:]CONTAINER-PORT[/tcp|udp], e.g. 127.0.0.1:8080:80" });
  const [address, protocol = "tcp", ...extra] = spec.split("/");
  if (extra.length > 0 || (protocol !== "tcp" && protocol !== "udp")) throw fail(`the protocol must be tcp or udp`);
  const parts = address.split(":");
  if (parts.length > 3) throw fail("IPv6 addresses are not supported");
  const [hostIp, hostPort, containerPort] = parts.length === 3 ? parts : parts.length === 2 ? ["", ...parts] : ["", "", parts[0]];
  if (hostIp !== "" && !isIPv4(hostIp)) throw fail(`"${hostIp}" is not an IPv4 address`);
  return {
    protocol,
    hostIp: hostIp === "" ? "0.0.0.0" : hostIp,
    hostPort: hostPort === "" ? 0 : portNumber(hostPort, fail),
    containerPort: portNumber(containerPort, fail),
  };
}

/** `-P`: each port the image EXPOSEs (`ExposedPorts` keys like `80/tcp`), on a port the shim picks. */
export function exposedPortBindings(exposed: Record<string, unknown> | undefined): PortBinding[] {
  return Object.keys(exposed ?? {}).map((key) => {
    const [port, protocol = "tcp"] = key.split("/");
    return { protocol: protocol === "udp" ? "udp" : "tcp", hostIp: "0.0.0.0", hostPort: 0, containerPort: Number(port) };
  });
}

/** docker's PORTS column: `0.0.0.0:8080->80/tcp, 127.0.0.1:49153->53/udp`. */
export function formatPortBindings(bindings: readonly PortBinding[]): string {
  return bindings.map((binding) => `${binding.hostIp}:${binding.hostPort}->${binding.containerPort}/${binding.protocol}`).join(", ");
}

function portNumber(text: string, fail: (why: string) => TsbuildError): number {
  const port = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(port >= 1 && port <= 65535)) throw fail(`"${text}" is not a port number (1-65535)`);
  return port;
}
