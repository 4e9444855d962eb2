import { execFile } from "node:child_process";
import { readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { posix, join } from "node:path";
import { promisify } from "node:util";
import { TsbuildError } from "../errors.js";
import { makeOwnedTempDir } from "../util/owned-temp-dir.js";
import { filteredCopy } from "./filtered-copy.js";
import type { PrivateFile } from "./private-bundle.js";
import { acquireCacheDir, type CacheDirLease } from "./cache-mount.js";
import type { RuntimeMount } from "./runtime-spec.js";
import { checkAgentSocket, startSshAgentProxy, type SshAgentProxy } from "./ssh-agent-proxy.js";
import type { RunMount, SecretSource, SshSource } from "./types.js";
import { statIfExists } from "../util/stat-if-exists.js";

const execFileAsync = promisify(execFile);

export interface PrepareRunMountsOptions {
  /** A directory of this run (mode 0700) for bind copies and sockets; removed by the caller. */
  scratchDir: string;
  /**
   * Where the runtime will find secret files: a directory that exists only in the runtime's
   * own mount namespace (executor/private-bundle.ts). Secrets are added to `privateFiles`,
   * never written here.
   */
  privateDir: string;
  privateFiles: PrivateFile[];
  cacheMountRoot: string;
  secrets?: Record<string, SecretSource>;
  ssh?: Record<string, SshSource>;
  signal?: AbortSignal;
}

/** RUN mounts turned into runtime mounts, with what must be given back after the run. */
export interface PreparedRunMounts {
  mounts: RuntimeMount[];
  /** Releases cache leases (locks) and stops ssh agent proxies. Scratch files go with the caller's scratch dir. */
  release(): Promise<void>;
}

/** A unix socket path may not be longer than this (sun_path is 108 bytes with its NUL). */
const MAX_SOCKET_PATH = 100;

/**
 * Turns RUN --mount descriptions into OCI mounts. Everything a mount needs on the host lives
 * outside the rootfs (the cache root, the run's scratch dir), so after the run nothing of it
 * is in the layer except the mount points, which the caller removes.
 */
export async function prepareRunMounts(runMounts: readonly RunMount[], options: PrepareRunMountsOptions): Promise<PreparedRunMounts> {
  const leases: CacheDirLease[] = [];
  const proxies: SshAgentProxy[] = [];
  const socketDirs: string[] = [];
  const release = async () => {
    for (const proxy of proxies.splice(0)) await proxy.close();
    for (const dir of socketDirs.splice(0)) await rm(dir, { recursive: true, force: true });
    for (const lease of leases.splice(0)) await lease.release();
  };
  const mounts: RuntimeMount[] = [];
  try {
    // Parents before children, so a mount at /a/b is not hidden by a later one at /a.
    const ordered = [...runMounts].sort((a, b) => targetDepth(a) - targetDepth(b));
    let counter = 0;
    for (const mount of ordered) {
      counter += 1;
      switch (mount.type) {
        case "cache": {
          const lease = await acquireCacheDir(options.cacheMountRoot, mount, { signal: options.signal });
          leases.push(lease);
          mounts.push(bindMount(lease.path, mount.target, mount.readonly ?? false));
          break;
        }
        case "bind": {
          const source = await checkSource(mount.source, mount.target);
          if (mount.ignore !== undefined && mount.ignore.patterns.length > 0 && (await stat(source)).isDirectory()) {
            const copy = join(options.scratchDir, `bind-${counter}`);
            await filteredCopy(source, copy, { root: mount.ignore.root, patterns: mount.ignore.patterns, link: !mount.readwrite });
            mounts.push(bindMount(copy, mount.target, !mount.readwrite));
          } else if (mount.readwrite) {
            // Writes must not reach the caller's source: give the process a copy to scribble on.
            const copy = join(options.scratchDir, `bind-${counter}`);
            await execFileAsync("cp", ["-a", "--reflink=auto", "--", source, copy]);
            mounts.push(bindMount(copy, mount.target, false));
          } else {
            mounts.push(bindMount(source, mount.target, true));
          }
          break;
        }
        case "tmpfs": {
          const flags = ["nosuid", "nodev", "mode=1777"];
          if (mount.sizeBytes !== undefined) flags.push(`size=${mount.sizeBytes}`);
          mounts.push({ destination: absoluteTarget(mount.target), type: "tmpfs", source: "tmpfs", options: flags });
          break;
        }
        case "secret": {
          const data = await readSecret(mount.id, options.secrets?.[mount.id], mount.required ?? false);
          if (data === undefined) break;
          // Handed to the runtime in memory: the file exists only on its private tmpfs.
          const name = `secret-${counter}`;
          options.privateFiles.push({ name, data, uid: mount.uid ?? 0, gid: mount.gid ?? 0, mode: mount.mode ?? 0o400 });
          mounts.push(bindMount(join(options.privateDir, name), mount.target ?? `/run/secrets/${mount.id}`, true));
          break;
        }
        case "ssh": {
          const source = options.ssh?.[mount.id];
          if (source === undefined) {
            if (!(mount.required ?? false)) break;
            throw new TsbuildError("NOT_FOUND", `Cannot mount ssh agent "${mount.id}": no ssh agent with this id was given`, {
              hint: mount.id === "default" ? "Pass one with --ssh default (uses $SSH_AUTH_SOCK) or --ssh default=SOCKET" : `Pass it with --ssh ${mount.id}=SOCKET`,
            });
          }
          await checkAgentSocket(mount.id, source.socket);
          let path = join(options.scratchDir, `ssh-${counter}.sock`);
          if (Buffer.byteLength(path) > MAX_SOCKET_PATH) {
            const dir = await makeOwnedTempDir(tmpdir(), "ssh");
            socketDirs.push(dir);
            path = join(dir, `${counter}.sock`);
          }
          proxies.push(await startSshAgentProxy(path, source.socket, { uid: mount.uid ?? 0, gid: mount.gid ?? 0, mode: mount.mode ?? 0o600 }));
          mounts.push({ destination: absoluteTarget(mount.target), type: "bind", source: path, options: ["rbind", "rw", "nosuid", "nodev"] });
          break;
        }
      }
    }
  } catch (error) {
    await release();
    throw error;
  }
  return { mounts, release };
}

/** A bind mount; read-only ones are also nosuid and nodev, so a host file cannot grant privileges. */
export function bindMount(source: string, target: string, readonly: boolean): RuntimeMount {
  const options = ["rbind", readonly ? "ro" : "rw"];
  if (readonly) options.push("nosuid", "nodev");
  return { destination: absoluteTarget(target), type: "bind", source, options };
}

function absoluteTarget(target: string): string {
  if (target.trim() === "") throw new TsbuildError("USAGE", "Cannot mount: target is empty");
  return posix.resolve("/", target);
}

function targetDepth(mount: RunMount): number {
  const target = mount.type === "secret" ? (mount.target ?? `/run/secrets/${mount.id}`) : mount.target;
  return posix.resolve("/", target).split("/").length;
}

async function checkSource(source: string, target: string): Promise<string> {
  const found = await statIfExists(source);
  if (found === undefined) {
    throw new TsbuildError("FILE_NOT_FOUND", `Cannot bind-mount "${source}" at "${target}": source does not exist`);
  }
  return source;
}

async function readSecret(id: string, source: SecretSource | undefined, required: boolean): Promise<Buffer | undefined> {
  if (source !== undefined) {
    if ("file" in source) {
      try {
        return await readFile(source.file);
      } catch (error) {
        if (!required) return undefined;
        throw new TsbuildError("FILE_NOT_FOUND", `Cannot read secret "${id}" from "${source.file}"`, { cause: error });
      }
    }
    const value = process.env[source.env];
    if (value !== undefined) return Buffer.from(value);
    if (!required) return undefined;
    throw new TsbuildError("NOT_FOUND", `Cannot read secret "${id}": environment variable "${source.env}" is not set`);
  }
  if (!required) return undefined;
  // BuildKit's words (session/secrets: "secret <id>: not found").
  throw new TsbuildError("NOT_FOUND", `secret ${id}: not found`, {
    hint: `Pass it with --secret id=${id},src=FILE or --secret id=${id},env=VARIABLE`,
  });
}
