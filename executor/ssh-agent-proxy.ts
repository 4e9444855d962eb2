import { chmod, chown } from "node:fs/promises";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { TsbuildError } from "../errors.js";
import { statIfExists } from "../util/stat-if-exists.js";

export interface SshAgentProxyOptions {
  uid: number;
  gid: number;
  mode: number;
}

/** A listening proxy socket; `close` stops it and cuts every connection still open. */
export interface SshAgentProxy {
  path: string;
  close(): Promise<void>;
}

/**
 * Listens on `path` and pipes every connection to the agent at `agentSocket`, as BuildKit's
 * `MountSSHSocket` does: the sandbox gets a socket of its own, owned by `uid`:`gid` with
 * `mode`, and the host's socket (its owner, its mode) is never in reach of the step.
 */
export async function startSshAgentProxy(path: string, agentSocket: string, options: SshAgentProxyOptions): Promise<SshAgentProxy> {
  const connections = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = createConnection(agentSocket);
    connections.add(client).add(upstream);
    const end = () => {
      client.destroy();
      upstream.destroy();
      connections.delete(client);
      connections.delete(upstream);
    };
    client.on("error", end).on("close", end);
    upstream.on("error", end).on("close", end);
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((done, fail) => {
    server.once("error", fail);
    server.listen(path, () => {
      server.off("error", fail);
      done();
    });
  });
  const close = () =>
    new Promise<void>((done) => {
      for (const socket of connections) socket.destroy();
      server.close(() => done());
    });
  try {
    await chown(path, options.uid, options.gid);
    await chmod(path, options.mode);
  } catch (error) {
    await close();
    throw error;
  }
  return { path, close };
}

/** Checks that `socket` is a unix socket (an ssh agent's), not a key file or a missing path. */
export async function checkAgentSocket(id: string, socket: string): Promise<void> {
  const found = await statIfExists(socket);
  if (found?.isSocket()) return;
  const what = found === undefined ? "does not exist" : "is not a socket";
  throw new TsbuildError("USAGE", `Cannot forward ssh agent "${id}": "${socket}" ${what}`, {
    hint: `Give an agent's socket: --ssh ${id}=$SSH_AUTH_SOCK (start one with eval "$(ssh-agent)" && ssh-add KEY); key files are not supported`,
  });
}
