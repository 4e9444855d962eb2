import { createSocket, type RemoteInfo, type Socket } from "node:dgram";

/**
 * The inside half of the UDP relay (udp-relay.ts), started by it with `nsenter --net` in a
 * sandbox's network namespace and an IPC channel. It is sent the host-side sockets, already
 * bound in the host's namespace, one per published port, and relays as docker's userland
 * proxy does: each peer (address and port) on the host side gets a socket of its own here,
 * connected to the container's port on this namespace's loopback, so answers find their way
 * back to the peer that asked. Nothing here outlives the channel: it exits when it closes.
 */

/** A peer's socket is dropped after this long without traffic, as docker's proxy does. */
const PEER_IDLE_MS = 90_000;

interface RelayRequest {
  containerPort: number;
}

function relay(outside: Socket, containerPort: number): void {
  const peers = new Map<string, { socket: Socket; timer: NodeJS.Timeout }>();
  const drop = (key: string) => {
    const peer = peers.get(key);
    if (peer === undefined) return;
    peers.delete(key);
    clearTimeout(peer.timer);
    peer.socket.close();
  };
  const touch = (key: string) => {
    const peer = peers.get(key);
    if (peer !== undefined) peer.timer.refresh();
  };
  outside.on("message", (message: Buffer, from: RemoteInfo) => {
    const key = `${from.address}\0${from.port}`;
    let peer = peers.get(key);
    if (peer === undefined) {
      const socket = createSocket("udp4");
      peer = { socket, timer: setTimeout(() => drop(key), PEER_IDLE_MS) };
      peers.set(key, peer);
      socket.on("message", (answer: Buffer, sender: RemoteInfo) => {
        if (sender.port !== containerPort) return; // only the container's port answers for it
        touch(key);
        outside.send(answer, from.port, from.address);
      });
      socket.on("error", () => drop(key));
    } else {
      touch(key);
    }
    // Unconnected, so a datagram that arrives before anything else is done needs no queue.
    peer.socket.send(message, containerPort, "127.0.0.1");
  });
  // A failing host-side socket ends this port's relay only; the shim reports the container's state.
  outside.on("error", () => {
    for (const key of [...peers.keys()]) drop(key);
  });
}

process.on("message", (request: RelayRequest, handle: unknown) => {
  if (handle === undefined || typeof request?.containerPort !== "number") return;
  relay(handle as Socket, request.containerPort);
  process.send?.({ relaying: request.containerPort });
});
process.on("disconnect", () => process.exit(0));
process.send?.({ ready: true });
