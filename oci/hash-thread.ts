// The entry of the hashing thread (thread-digester.ts): sha256 of byte streams by id, the
// bytes handed over (transferred) once the layer writer has written them.
import { createHash, type Hash } from "node:crypto";
import { parentPort } from "node:worker_threads";

/** `sole`: the chunk's memory was the sender's own buffer (thread-digester.ts `soleBuffer`), not a copy. */
export type HashRequest = { id: number; data: Uint8Array; sole: boolean } | { id: number; end: true } | { id: number; drop: true };

/**
 * After each `data`, the chunk itself sent back (its length is what was hashed), for the
 * sender to reuse when it was its own buffer. Left in this thread, whose heap hardly grows,
 * hashed chunks piled up (a 500 MB layer took the process from 120 to 290 MiB).
 */
export type HashReply = { id: number; data: Uint8Array; sole: boolean } | { id: number; digest: string };

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
    const { data, sole } = request;
    parentPort!.postMessage({ id, data, sole } satisfies HashReply, [data.buffer as ArrayBuffer]);
  } else if ("drop" in request) {
    hashes.delete(id);
  } else {
    const hash = hashes.get(id) ?? createHash("sha256");
    hashes.delete(id);
    parentPort!.postMessage({ id, digest: hash.digest("hex") } satisfies HashReply);
  }
});
