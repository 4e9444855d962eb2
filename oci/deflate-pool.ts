import { availableParallelism } from "node:os";
import type { Worker } from "node:worker_threads";
import { TsbuildError } from "../errors.js";
import type { DeflateBlockInput } from "./deflate-block.js";
import type { DeflateResult, DeflateTask } from "./deflate-worker.js";
import { packageFile } from "../util/package-file.js";
import { startWorker } from "../util/lazy-builtin.js";

interface PoolThread {
  worker: Worker;
  pending: Map<number, { resolve: (result: { output: Buffer; crc: number }) => void; reject: (error: Error) => void }>;
}

/**
 * Threads that deflate blocks, one per core, started on first use and kept for the life of
 * the process. An idle pool does not keep the process alive (its threads are unref'd while
 * they have no work).
 */
export class DeflatePool {
  readonly size: number;
  readonly #threads: PoolThread[] = [];
  #nextId = 0;

  constructor(size = availableParallelism()) {
    this.size = Math.max(1, size);
  }

  /** Deflates one block on the least busy thread. The block's memory is handed over (transferred). */
  run(input: DeflateBlockInput): Promise<{ output: Buffer; crc: number }> {
    const thread = this.#pick();
    const id = this.#nextId++;
    const task: DeflateTask = { id, ...input };
    return new Promise((resolve, reject) => {
      if (thread.pending.size === 0) thread.worker.ref();
      thread.pending.set(id, { resolve, reject });
      const transfer = [input.block.buffer as ArrayBuffer];
      if (input.dictionary !== undefined && input.dictionary.buffer !== input.block.buffer) transfer.push(input.dictionary.buffer as ArrayBuffer);
      thread.worker.postMessage(task, transfer);
    });
  }

  #pick(): PoolThread {
    let best: PoolThread | undefined;
    for (const thread of this.#threads) if (best === undefined || thread.pending.size < best.pending.size) best = thread;
    if (best !== undefined && (best.pending.size === 0 || this.#threads.length >= this.size)) return best;
    return this.#start();
  }

  #start(): PoolThread {
    const worker = startWorker(packageFile("dist/oci/deflate-worker.js"));
    const thread: PoolThread = { worker, pending: new Map() };
    worker.unref();
    worker.on("message", (result: DeflateResult) => {
      const waiter = thread.pending.get(result.id);
      if (waiter === undefined) return;
      thread.pending.delete(result.id);
      if (thread.pending.size === 0) worker.unref();
      if (result.error !== undefined || result.output === undefined || result.crc === undefined) {
        waiter.reject(new TsbuildError("INTERNAL", `Cannot compress a layer block: ${result.error ?? "no output"}`));
      } else {
        waiter.resolve({ output: Buffer.from(result.output.buffer, result.output.byteOffset, result.output.byteLength), crc: result.crc });
      }
    });
    const fail = (error: Error) => {
      // A thread that died takes its blocks with it; the pool starts a new one when needed.
      const index = this.#threads.indexOf(thread);
      if (index !== -1) this.#threads.splice(index, 1);
      for (const waiter of thread.pending.values()) waiter.reject(new TsbuildError("INTERNAL", `Cannot compress a layer block: ${error.message}`, { cause: error }));
      thread.pending.clear();
    };
    worker.on("error", fail);
    worker.on("exit", (code) => fail(new Error(`compression thread exited with status ${code}`)));
    this.#threads.push(thread);
    return thread;
  }
}

let shared: DeflatePool | undefined;

/** The process's deflate pool. */
export function deflatePool(): DeflatePool {
  shared ??= new DeflatePool();
  return shared;
}
