import type { Worker } from "node:worker_threads";
import { TsbuildError } from "../errors.js";
import { packageFile } from "../util/package-file.js";
import type { Digest } from "./digest.js";
import type { CopyRange, HashReply, HashRequest, StreamFailure } from "./hash-thread.js";
import { startWorker } from "../util/lazy-builtin.js";

/**
 * sha256 on a thread of its own, for the layer writer's large tars: hashing a 200 MB layer
 * takes about 180 ms of the main thread, which the walk, the reads and the other steps need
 * (measured in docs/architecture.md, phase 6). A chunk marked `sole` (memory no one else
 * holds, see `soleBuffer`) is handed over without a copy; any other is copied. A stream may
 * also have the thread write what it hashes into a file (`writeInto`), and then copy ranges
 * of an earlier layer's tar into it (`copy`): read, hashed and written there, they never
 * pass through this thread (docs/architecture.md, phase 8).
 */
export class ThreadDigester {
  readonly #thread: HashThread;
  readonly #id: number;
  #size = 0;

  constructor(thread: HashThread, id: number) {
    this.#thread = thread;
    this.#id = id;
  }

  /** Hands `chunk` to the thread; the promise, when one is given, waits until it has caught up. */
  update(chunk: Buffer): Promise<void> | undefined {
    this.#size += chunk.byteLength;
    return this.#thread.send(this.#id, chunk);
  }

  /**
   * From now on the thread also writes the stream's bytes into the file at `path` (open as
   * `fd`, which must stay open until the digest or `drop` has settled), from its start.
   */
  writeInto(file: { path: string; fd: number }): void {
    this.#thread.writeInto(this.#id, file);
  }

  /**
   * Has the thread read `range`, hash it next and write it to the stream's file. A source
   * shorter than the range fails the stream with `short()`. The promise, when one is given,
   * waits until the thread has caught up.
   */
  copy(range: CopyRange, short: () => Error): Promise<void> | undefined {
    this.#size += range.length;
    return this.#thread.copy(this.#id, range, short);
  }

  get size(): number {
    return this.#size;
  }

  /** The digest of everything handed over; call once. */
  digest(): Promise<Digest> {
    return this.#thread.finish(this.#id);
  }

  /** Forgets the bytes handed over (a failed write); settles once no copy of this stream is under way. */
  drop(): Promise<void> {
    return this.#thread.drop(this.#id);
  }
}

/** Memory made for one chunk of a tar and never read again once written: it may be handed over. */
const soleBuffers = new WeakSet<ArrayBuffer>();

/**
 * Memory the thread has hashed and sent back, by size, for the next chunks of that size (a
 * file's pieces, the writer's blocks): the chunks of a 500 MB layer reuse a few dozen buffers
 * instead of leaving 500 MB for the collector.
 */
const returned = new Map<number, ArrayBuffer[]>();
const RETURNED_PER_SIZE = 24;

/**
 * A buffer of `size` bytes of its own (no pool) that its user gives away once written: a
 * ThreadDigester then takes it without a copy. Not zeroed.
 */
export function soleBuffer(size: number): Buffer<ArrayBuffer> {
  const reused = returned.get(size)?.pop();
  const buffer = reused === undefined ? Buffer.allocUnsafeSlow(size) : Buffer.from(reused);
  soleBuffers.add(buffer.buffer as ArrayBuffer);
  return buffer;
}

function keepReturned(memory: ArrayBuffer): void {
  let list = returned.get(memory.byteLength);
  if (list === undefined) returned.set(memory.byteLength, (list = []));
  if (list.length < RETURNED_PER_SIZE) list.push(memory);
}

/** Bytes handed to the thread and not yet hashed, at most, before `update` makes its caller wait. */
const IN_FLIGHT_BYTES = 16 * 1024 * 1024;

interface StreamState {
  inFlight: number;
  /** Callers waiting for the thread to catch up. */
  waiting: Array<{ resolve: () => void; reject: (error: Error) => void }>;
  /** What makes each copy's "source too short" error, in the order the copies were sent. */
  copies: Array<() => Error>;
  /** A copy failed: the stream takes nothing more and its digest is this error. */
  failure?: Error;
  done?: { resolve: (digest: Digest) => void; reject: (error: Error) => void };
  /** Called once a drop is acknowledged, or the thread died: nothing of this stream is written any more. */
  dropped?: () => void;
}

/** The hashing thread, started on first use and kept for the life of the process (unref'd while idle). */
export class HashThread {
  readonly #worker: Worker;
  readonly #streams = new Map<number, StreamState>();
  #nextId = 0;
  #dead: Error | undefined;

  constructor() {
    this.#worker = startWorker(packageFile("dist/oci/hash-thread.js"));
    this.#worker.unref();
    this.#worker.on("message", (reply: HashReply) => this.#reply(reply));
    this.#worker.on("error", (error) => this.#die(error));
    this.#worker.on("exit", (code) => this.#die(new Error(`the hashing thread exited with status ${code}`)));
  }

  open(): ThreadDigester {
    if (this.#streams.size === 0) this.#worker.ref();
    const id = this.#nextId++;
    this.#streams.set(id, { inFlight: 0, waiting: [], copies: [] });
    return new ThreadDigester(this, id);
  }

  send(id: number, chunk: Buffer): Promise<void> | undefined {
    const state = this.#state(id);
    const sole = chunk.byteOffset === 0 && soleBuffers.has(chunk.buffer as ArrayBuffer);
    // Counted before it goes: a chunk handed over reads as empty here afterwards.
    state.inFlight += chunk.byteLength;
    // Any other chunk goes as a copy of its own bytes (a view would carry its whole buffer).
    const data = sole ? chunk : new Uint8Array(chunk);
    this.#worker.postMessage({ id, data, sole } satisfies HashRequest, [data.buffer as ArrayBuffer]);
    return this.#caughtUp(state);
  }

  writeInto(id: number, into: { path: string; fd: number }): void {
    this.#state(id);
    this.#worker.postMessage({ id, into } satisfies HashRequest);
  }

  copy(id: number, range: CopyRange, short: () => Error): Promise<void> | undefined {
    const state = this.#state(id);
    state.inFlight += range.length;
    state.copies.push(short);
    this.#worker.postMessage({ id, copy: range } satisfies HashRequest);
    return this.#caughtUp(state);
  }

  async finish(id: number): Promise<Digest> {
    const state = this.#state(id);
    return new Promise<Digest>((resolve, reject) => {
      state.done = { resolve, reject };
      this.#worker.postMessage({ id, end: true } satisfies HashRequest);
    });
  }

  async drop(id: number): Promise<void> {
    const state = this.#streams.get(id);
    if (state === undefined) return;
    if (this.#dead === undefined) {
      // The thread answers after every copy sent before; a dead thread writes nothing more either.
      const dropped = new Promise<void>((resolve) => (state.dropped = resolve));
      this.#worker.postMessage({ id, drop: true } satisfies HashRequest);
      await dropped;
    }
    this.#forget(id);
  }

  #state(id: number): StreamState {
    if (this.#dead !== undefined) throw this.#failure(this.#dead);
    const state = this.#streams.get(id);
    if (state === undefined) throw new TsbuildError("INTERNAL", `Cannot hash: stream ${id} is not open`);
    if (state.failure !== undefined) throw state.failure;
    return state;
  }

  /** Nothing, or a wait until the thread has caught up with `state`'s stream. */
  #caughtUp(state: StreamState): Promise<void> | undefined {
    if (state.inFlight < IN_FLIGHT_BYTES) return undefined;
    return new Promise<void>((resolve, reject) => state.waiting.push({ resolve, reject }));
  }

  #forget(id: number): void {
    if (this.#streams.delete(id) && this.#streams.size === 0) this.#worker.unref();
  }

  #reply(reply: HashReply): void {
    const state = this.#streams.get(reply.id);
    if (state === undefined) return;
    if ("data" in reply || "copied" in reply) {
      if ("data" in reply && reply.sole) keepReturned(reply.data.buffer as ArrayBuffer);
      if ("copied" in reply) state.copies.shift();
      state.inFlight -= "data" in reply ? reply.data.byteLength : reply.copied;
      if (state.waiting.length > 0 && state.inFlight < IN_FLIGHT_BYTES / 2) for (const waiter of state.waiting.splice(0)) waiter.resolve();
      return;
    }
    if ("failed" in reply) {
      // A short copy is the oldest one not answered yet (the thread answers in order).
      state.failure ??= streamFailure(reply.failed, state.copies[0]);
      for (const waiter of state.waiting.splice(0)) waiter.reject(state.failure);
      if (state.done === undefined) return;
      // The answer to the stream's end.
      this.#forget(reply.id);
      state.done.reject(state.failure);
      return;
    }
    this.#forget(reply.id);
    if ("dropped" in reply) state.dropped?.();
    else state.done?.resolve(`sha256:${reply.digest}` as Digest);
  }

  #die(error: Error): void {
    if (this.#dead !== undefined) return;
    this.#dead = error;
    if (shared === this) shared = undefined; // the next layer starts a new thread
    for (const state of this.#streams.values()) {
      for (const waiter of state.waiting.splice(0)) waiter.reject(this.#failure(error));
      state.done?.reject(this.#failure(error));
      state.dropped?.();
    }
    this.#streams.clear();
  }

  #failure(error: Error): TsbuildError {
    return new TsbuildError("INTERNAL", `Cannot hash a layer: ${error.message}`, { cause: error });
  }
}

/** The error a failed stream stands for: the copy's for a short source, else the system call's (with its code, for system-error.ts). */
function streamFailure(failed: StreamFailure, short: (() => Error) | undefined): Error {
  if (failed.short) return short?.() ?? new TsbuildError("INTERNAL", "Cannot copy a range of a layer: its source is shorter than the range");
  const { message, code, syscall } = failed;
  return Object.assign(new Error(message), code === undefined ? {} : { code }, syscall === undefined ? {} : { syscall });
}

let shared: HashThread | undefined;

/** A digester on the process's hashing thread. */
export function threadDigester(): ThreadDigester {
  shared ??= new HashThread();
  return shared.open();
}
