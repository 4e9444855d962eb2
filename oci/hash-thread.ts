// The entry of the hashing thread (thread-digester.ts): sha256 of byte streams by id, the
// bytes handed over (transferred) once the layer writer has written them.
import { createHash, type Hash } from "node:crypto";
import { parentPort } from "node:worker_threads";

export type HashRequest = { id: number; data: Uint8Array } | { id: number; end: true } | { id: number; drop: true };

/** After each `data`, the bytes hashed; after `end`, the digest (hex). */
export type HashReply = { id: number; hashed: number } | { id: number; digest: string };

const hashes = new Map<number, Hash>();

parentPort?.on("message", (request: HashRequest) => {
  const { id } = request;
  if ("data" in request) {
    let hash = hashes.get(id);
    if (hash === undefined) {
      hash = createHash("sha256");
      hashes.set(id, hash);
    }
    hash.update(request.data);
    parentPort!.postMessage({ id, hashed: request.data.byteLength } satisfies HashReply);
  } else if ("drop" in request) {
    hashes.delete(id);
  } else {
    const hash = hashes.get(id) ?? createHash("sha256");
    hashes.delete(id);
    parentPort!.postMessage({ id, digest: hash.digest("hex") } satisfies HashReply);
  }
});
