import { readTextOrEmptySync } from "../util/read-small-file.js";

export interface HostsFileOptions {
  hostname: string;
  extraHosts?: Array<{ host: string; ip: string }>;
}

/** The sandbox's /etc/hosts: loopback names, the sandbox's hostname, then any extra hosts. */
export function createHostsFile(options: HostsFileOptions): string {
  const lines = [`127.0.0.1\tlocalhost ${options.hostname}`, "::1\tlocalhost ip6-localhost ip6-loopback"];
  for (const { host, ip } of options.extraHosts ?? []) lines.push(`${ip}\t${host}`);
  return lines.join("\n") + "\n";
}

/**
 * The sandbox's /etc/resolv.conf: the host's, since both `host` and `none` networking use
 * the host's view of DNS (with `none` nothing can reach it anyway). Empty when the host has
 * none (or it cannot be read). Read synchronously: a small file, on every RUN's way to starting.
 */
export async function createResolvConf(hostPath = "/etc/resolv.conf"): Promise<string> {
  return readTextOrEmptySync(hostPath);
}
