import { openSandboxNetwork, type SandboxNetwork } from "./sandbox-network.js";

/**
 * The default networks of one executor's sandboxes, kept for reuse as BuildKit keeps a pool
 * of network namespaces: opening one (a namespace's holder plus slirp4netns) costs 0.1 to
 * 0.2 s on the CI machine, more than the RUN step it serves. A run takes an idle network or
 * opens one (so steps running side by side each have their own), and gives it back when its
 * sandbox is gone: nothing of the run is left in it then (its pid namespace took every
 * process and socket with it, and without CAP_NET_ADMIN it could change no address, route
 * or firewall rule). A run that had every capability (`--security=insecure`) could have, so
 * its network is closed instead. Idle networks never keep this process alive; `close` ends
 * them all.
 */
export class SandboxNetworkPool {
  readonly #open: () => Promise<SandboxNetwork>;
  readonly #idle: SandboxNetwork[] = [];
  readonly #all = new Set<SandboxNetwork>();
  #closed = false;

  constructor(open: () => Promise<SandboxNetwork> = () => openSandboxNetwork()) {
    this.#open = open;
  }

  /** An idle network that still works, or a new one. */
  async acquire(): Promise<SandboxNetwork> {
    for (let network = this.#idle.pop(); network !== undefined; network = this.#idle.pop()) {
      if (network.alive()) return network;
      await this.#discard(network);
    }
    const network = await this.#open();
    network.unref();
    this.#all.add(network);
    return network;
  }

  /** Gives `network` back for the next run; `reusable: false` closes it. */
  async release(network: SandboxNetwork, options: { reusable: boolean }): Promise<void> {
    if (!options.reusable || this.#closed || !network.alive()) return this.#discard(network);
    this.#idle.push(network);
  }

  /** Closes every network, idle or not; later releases close theirs. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#idle.length = 0;
    const all = [...this.#all];
    this.#all.clear();
    await Promise.all(all.map((network) => network.close()));
  }

  async #discard(network: SandboxNetwork): Promise<void> {
    this.#all.delete(network);
    await network.close();
  }
}
