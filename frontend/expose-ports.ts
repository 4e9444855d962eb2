/**
 * Turns EXPOSE words into ExposedPorts keys as BuildKit does: `80` is `80/tcp`,
 * `8000-8002/udp` is three keys, the protocol is lower-cased, and a host part
 * (`127.0.0.1:80:80`) is accepted but ignored. Throws an Error with BuildKit's reason.
 */
export function parseExposedPorts(words: readonly string[]): string[] {
  const out: string[] = [];
  for (const word of words) out.push(...parsePort(word));
  return out;
}

function parsePort(raw: string): string[] {
  const parts = raw.split(":");
  let ip = "";
  let hostPort = "";
  let containerPort = parts[parts.length - 1];
  if (parts.length === 2) hostPort = parts[0];
  else if (parts.length >= 3) {
    ip = parts.slice(0, -2).join(":");
    hostPort = parts[parts.length - 2];
  }
  const slash = containerPort.indexOf("/");
  let proto = slash === -1 ? "" : containerPort.slice(slash + 1);
  containerPort = slash === -1 ? containerPort : containerPort.slice(0, slash);
  if (containerPort === "") throw new Error(`invalid port: "${raw}": no port specified`);
  if (proto === "") proto = "tcp";
  else if (!["tcp", "udp", "sctp"].includes(proto.toLowerCase())) throw new Error(`invalid port: "${raw}": invalid proto: ${proto}`);
  if (ip.startsWith("[")) ip = ip.replace(/^\[(.*)\]$/, "$1");
  if (ip !== "" && !isIpAddress(ip)) throw new Error(`invalid IP address: ${ip}`);
  const range = parseRange(containerPort);
  if (!range) throw new Error(`invalid containerPort: ${containerPort}`);
  if (hostPort !== "") {
    const hostRange = parseRange(hostPort);
    if (!hostRange) throw new Error(`invalid hostPort: ${hostPort}`);
    if (range[1] - range[0] !== hostRange[1] - hostRange[0] && range[1] !== range[0]) {
      throw new Error(`invalid ranges specified for container and host Ports: ${containerPort} and ${hostPort}`);
    }
  }
  const keys: string[] = [];
  for (let port = range[0]; port <= range[1]; port++) keys.push(`${port}/${proto.toLowerCase()}`);
  return keys;
}

function parseRange(text: string): [number, number] | undefined {
  const dash = text.indexOf("-");
  const start = parsePortNumber(dash === -1 ? text : text.slice(0, dash));
  if (start === undefined) return undefined;
  if (dash === -1 || text.slice(dash + 1) === text.slice(0, dash)) return [start, start];
  const end = parsePortNumber(text.slice(dash + 1));
  if (end === undefined || end < start) return undefined;
  return [start, end];
}

function parsePortNumber(text: string): number | undefined {
  if (!/^[+-]?\d+$/.test(text)) return undefined;
  const port = Number(text);
  return port >= 0 && port <= 65535 ? port : undefined;
}

function isIpAddress(text: string): boolean {
  if (/^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.test(text)) return text.split(".").every((n) => Number(n) <= 255);
  return /^[0-9a-fA-F:.]+$/.test(text) && text.includes(":");
}
