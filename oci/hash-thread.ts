// The entry of the hashing thread (thread-digester.ts): sha256 of byte streams by id, the
// bytes handed over (transferred) once the layer writer has written them.
import { createHash, type Hash } from "node:crypto";
import { parentPort } from "node:worker_threads";

export type HashRequest = { id: number; data: Uint8Array } | { id: number; end: true } | { id: number; drop: true };

/**
 * After each `data`, the bytes hashed, and the chunk itself sent back: the main thread's
 * collector, which runs often, frees it there. Left in this thread, whose heap hardly grows,
 * hashed chunks piled up (a 500 MB layer took the process from 120 to 290 MiB).
 */
export type HashReply = { id: number; hashed: number; data: Uint8Array } | { id: number; digest: string };

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
    const { data } = request;
    parentPort!.postMessage({ id, hashed: data.byteLength, data } satisfies HashReply, [data.buffer as ArrayBuffer]);
  } else if ("drop" in request) {
    hashes.delete(id);
  } else {
    const hash = hashes.get(id) ?? createHash("sha256");
    hashes.delete(id);
    parentPort!.postMessage({ id, digest: hash.digest("hex") } satisfies HashReply);
  }
});
