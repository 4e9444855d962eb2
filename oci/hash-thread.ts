// The entry of the hashing thread (thread-digester.ts): sha256 of byte streams by id. The
// bytes are handed over (transferred) by the sender; a stream may also write what it hashes
// into a file (a large uncompressed layer), with ranges of an earlier layer's tar copied in
// here without passing through the sender.
import { createHash, type Hash } from "node:crypto";
import { closeSync, constants, ftruncateSync, openSync, read, write } from "node:fs";
import { parentPort } from "node:worker_threads";

/** Bytes of a file to copy: `length` of them from `position` of `source`. */
export interface CopyRange {
  source: string;
  position: number;
  length: number;
}

/**
 * `into`: from now on the stream's bytes are also written to the file at `path`, from its
 * start; `fd` is the sender's descriptor of it, open until the stream ends or its drop is
 * acknowledged. `sole`: the chunk's memory was the sender's own buffer (thread-digester.ts
 * `soleBuffer`), not a copy. `copy`: a range of another file, read, hashed and written here.
 */
export type HashRequest =
  | { id: number; into: { path: string; fd: number } }
  | { id: number; data: Uint8Array; sole: boolean }
  | { id: number; copy: CopyRange }
  | { id: number; end: true }
  | { id: number; drop: true };

/** Why a stream failed: a copy's source was shorter than its range, or a system call failed. */
export type StreamFailure = { short: true } | { short: false; message: string; code?: string; syscall?: string };

/**
 * After each `data`, the chunk itself sent back (its length is what was hashed), for the
 * sender to reuse when it was its own buffer. Left in this thread, whose heap hardly grows,
 * hashed chunks piled up (a 500 MB layer took the process from 120 to 290 MiB). After each
 * `copy`, `copied`. `failed` once the stream fails (it then hashes and writes nothing more)
 * and again in answer to its end; after a `drop`, `dropped`: nothing of the stream is being
 * written any more.
 */
export type HashReply =
  | { id: number; data: Uint8Array; sole: boolean }
  | { id: number; copied: number }
  | { id: number; failed: StreamFailure }
  | { id: number; dropped: true }
  | { id: number; digest: string };

/**
 * A file's bytes go out through staging buffers of this size, written with O_DIRECT where the
 * file system takes it: on the machines measured, page cache for new data costs a fault per
 * page (memory the host takes back once freed), and a 200 MB layer written through it took
 * about 0.45 s against 0.15 s direct (docs/architecture.md, phase 8).
 */
const STAGE = 4 * 1024 * 1024;
/** Offsets, lengths and memory of direct I/O are multiples of this (at least the device's logical block). */
const DIRECT_ALIGN = 4096;
/** Aligned buffers (stages and windows) made before a stream waits for its oldest write rather than make another. */
const STAGES_KEPT = 6;

const freeStages: Buffer[] = [];
let stagesMade = 0;

/** The one piece of WebAssembly used here (the project's TypeScript libraries do not declare it). */
declare const WebAssembly: { Memory: new (size: { initial: number; maximum: number }) => { buffer: ArrayBuffer } };

/**
 * STAGE bytes of page-aligned memory (a WebAssembly memory's is; a Buffer's is not), as direct
 * I/O needs. Where no such memory can be had (a WebAssembly memory reserves gigabytes of
 * address space, which `ulimit -v` may refuse), a Buffer: direct I/O then fails with EINVAL
 * and the page cache serves instead.
 */
function alignedStage(): Buffer {
  const kept = freeStages.pop();
  if (kept !== undefined) return kept;
  stagesMade++;
  const pages = STAGE / 65536;
  try {
    return Buffer.from(new WebAssembly.Memory({ initial: pages, maximum: pages }).buffer);
  } catch {
    return Buffer.allocUnsafeSlow(STAGE);
  }
}

interface FileOut {
  /** The descriptor written through: opened here with O_DIRECT, else the sender's. */
  fd: number;
  direct: boolean;
  /** Whether `fd` was opened here (and is closed here). */
  own: boolean;
  senderFd: number;
  /** The stage being filled, how much of it is, and the file position it starts at. */
  stage: Buffer;
  used: number;
  at: number;
  /** Writes under way, oldest first, each with its stage. */
  writing: Array<{ done: Promise<void>; stage: Buffer }>;
}

/**
 * A file copied from, read a window of STAGE bytes at a time: the ranges of one layer come
 * in order and are often small (a few entries between two directories), and each read of
 * a file that is not in the page cache waits for the device.
 */
interface Source {
  path: string;
  /** Opened for direct reads where the file system takes them, else as `buffered`. */
  fd: number;
  direct: boolean;
  /** The descriptor without O_DIRECT, once a direct read was refused. */
  buffered?: number;
  window: Buffer;
  /** The file's bytes the window holds: from `start`, `length` of them. */
  start: number;
  length: number;
  /** The next window, being read while this one is copied. */
  ahead?: { start: number; window: Buffer; read: Promise<number> };
}

interface Stream {
  hash: Hash;
  out?: FileOut;
  /** The source of the last copy, kept open for the next (a range is copied in many pieces). */
  source?: Source;
  failure?: StreamFailure;
}

const streams = new Map<number, Stream>();

function streamOf(id: number): Stream {
  let stream = streams.get(id);
  if (stream === undefined) streams.set(id, (stream = { hash: createHash("sha256") }));
  return stream;
}

function failureOf(error: unknown): StreamFailure {
  const { message, code, syscall } = error as NodeJS.ErrnoException;
  return { short: false, message, ...(code === undefined ? {} : { code }), ...(syscall === undefined ? {} : { syscall }) };
}

const writeAt = (fd: number, buffer: Buffer, length: number, position: number): Promise<number> =>
  new Promise((resolve, reject) => write(fd, buffer, 0, length, position, (error, written) => (error ? reject(error) : resolve(written))));

/** `length` bytes of `stage` at `position`: direct when it can be, else through the sender's descriptor. */
async function writeStage(out: FileOut, stage: Buffer, length: number, position: number): Promise<void> {
  if (out.direct) {
    try {
      if ((await writeAt(out.fd, stage, length, position)) === length) return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EINVAL") throw error;
    }
    out.direct = false; // this file system wants other alignment: the rest goes through the page cache
  }
  for (let done = 0; done < length; ) done += await writeAt(out.senderFd, stage.subarray(done), length - done, position + done);
}

/** Starts writing `length` bytes of `stage` at `position`; its failure is thrown where it is awaited (settleOldest), not as an unhandled rejection before that. */
function startWrite(out: FileOut, stage: Buffer, length: number, position: number): void {
  const done = writeStage(out, stage, length, position);
  done.catch(() => undefined);
  out.writing.push({ done, stage });
}

async function takeStage(out: FileOut): Promise<Buffer> {
  while (freeStages.length === 0 && stagesMade >= STAGES_KEPT && out.writing.length > 0) await settleOldest(out);
  return alignedStage();
}

async function settleOldest(out: FileOut): Promise<void> {
  const oldest = out.writing.shift()!;
  try {
    await oldest.done;
  } finally {
    freeStages.push(oldest.stage);
  }
}

/** Writes the full stage and starts the next. */
async function flushStage(out: FileOut): Promise<void> {
  const stage = out.stage;
  startWrite(out, stage, STAGE, out.at);
  out.at += STAGE;
  out.used = 0;
  out.stage = await takeStage(out);
}

/** Appends bytes to the file (hashed already). */
async function append(out: FileOut, bytes: Uint8Array): Promise<void> {
  for (let done = 0; done < bytes.byteLength; ) {
    const count = Math.min(STAGE - out.used, bytes.byteLength - done);
    out.stage.set(bytes.subarray(done, done + count), out.used);
    out.used += count;
    done += count;
    if (out.used === STAGE) await flushStage(out);
  }
}

/** Copies a range of another file into the stage, hashing it there. */
async function copy(stream: Stream, out: FileOut, range: CopyRange): Promise<StreamFailure | undefined> {
  if (stream.source !== undefined && stream.source.path !== range.source) await closeSource(stream);
  const source = (stream.source ??= openSource(range.source));
  for (let done = 0; done < range.length; ) {
    const position = range.position + done;
    if (position < source.start || position >= source.start + source.length) {
      if (!(await fillWindow(source, position))) return { short: true };
      continue;
    }
    const from = position - source.start;
    const count = Math.min(STAGE - out.used, range.length - done, source.length - from);
    const bytes = source.window.subarray(from, from + count);
    stream.hash.update(bytes);
    out.stage.set(bytes, out.used);
    out.used += count;
    done += count;
    if (out.used === STAGE) await flushStage(out);
  }
  return undefined;
}

/**
 * Makes the window of `source` the one that holds `position` (the one read ahead when it is
 * that), and starts reading the next; false when the file ends before `position`.
 */
async function fillWindow(source: Source, position: number): Promise<boolean> {
  const start = position - (position % DIRECT_ALIGN);
  const ahead = source.ahead;
  source.ahead = undefined;
  if (ahead !== undefined && ahead.start <= position && position < ahead.start + STAGE) {
    const length = await ahead.read;
    [source.window, ahead.window] = [ahead.window, source.window];
    freeStages.push(ahead.window);
    source.start = ahead.start;
    source.length = length;
  } else {
    if (ahead !== undefined) freeStages.push((await settled(ahead)).window);
    source.start = start;
    source.length = await readWindow(source, source.window, start);
  }
  if (source.length === STAGE) {
    const next = { start: source.start + STAGE, window: alignedStage(), read: Promise.resolve(0) };
    next.read = readWindow(source, next.window, next.start);
    next.read.catch(() => undefined); // awaited when its turn comes, or settled when the source closes
    source.ahead = next;
  }
  return position < source.start + source.length;
}

async function settled<T extends { read: Promise<number> }>(ahead: T): Promise<T> {
  await ahead.read.catch(() => undefined);
  return ahead;
}

const readAt = (fd: number, buffer: Buffer, position: number): Promise<number> =>
  new Promise((resolve, reject) => read(fd, buffer, 0, buffer.byteLength, position, (error, count) => (error ? reject(error) : resolve(count))));

/** A window's bytes from `start`; a file system that refuses this direct read gets the page cache from now on. */
async function readWindow(source: Source, window: Buffer, start: number): Promise<number> {
  if (source.direct) {
    try {
      return await readAt(source.fd, window, start);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EINVAL") throw error;
    }
    source.direct = false;
  }
  source.buffered ??= openSync(source.path, "r");
  return readAt(source.buffered, window, start);
}

/** A copy source: direct reads where they work (an earlier layer written direct is not in the page cache). */
function openSource(path: string): Source {
  let fd: number;
  let direct = true;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_DIRECT);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EINVAL") throw error;
    fd = openSync(path, "r");
    direct = false;
  }
  return { path, fd, direct, ...(direct ? {} : { buffered: fd }), window: alignedStage(), start: 0, length: 0 };
}

async function openOut(into: { path: string; fd: number }): Promise<FileOut> {
  let fd = into.fd;
  let direct = false;
  try {
    fd = openSync(into.path, constants.O_WRONLY | constants.O_DIRECT);
    direct = true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EINVAL") throw error; // no direct I/O here: the sender's descriptor
  }
  const out: FileOut = { fd, direct, own: direct, senderFd: into.fd, stage: Buffer.alloc(0), used: 0, at: 0, writing: [] };
  out.stage = await takeStage(out);
  return out;
}

/** Writes the last stage (padded for direct I/O, then cut to size), waits for every write, closes what was opened here. */
async function finishOut(out: FileOut, failed: boolean): Promise<void> {
  try {
    if (!failed && out.used > 0) {
      const padded = out.direct ? Math.ceil(out.used / DIRECT_ALIGN) * DIRECT_ALIGN : out.used;
      out.stage.fill(0, out.used, padded);
      startWrite(out, out.stage, padded, out.at);
      out.stage = Buffer.alloc(0);
    }
    let firstError: unknown;
    while (out.writing.length > 0) await settleOldest(out).catch((error: unknown) => (firstError ??= error));
    if (firstError !== undefined) throw firstError;
    // The padding of the last direct write goes.
    if (!failed && out.used % DIRECT_ALIGN !== 0 && out.own) ftruncateSync(out.fd, out.at + out.used);
  } finally {
    if (out.stage.byteLength === STAGE) freeStages.push(out.stage);
    out.stage = Buffer.alloc(0);
    if (out.own) closeSync(out.fd);
  }
}

/** Closes the stream's copy source, once its read ahead has settled. */
async function closeSource(stream: Stream): Promise<void> {
  const source = stream.source;
  if (source === undefined) return;
  stream.source = undefined;
  if (source.ahead !== undefined) freeStages.push((await settled(source.ahead)).window);
  closeSync(source.fd); // read-only: nothing to lose
  if (source.buffered !== undefined && source.buffered !== source.fd) closeSync(source.buffered);
  freeStages.push(source.window);
}

async function handle(request: HashRequest): Promise<void> {
  const { id } = request;
  const reply = (message: HashReply, transfer: ArrayBuffer[] = []) => parentPort!.postMessage(message, transfer);
  if ("data" in request) {
    const stream = streamOf(id);
    const { data, sole } = request;
    if (stream.failure === undefined) {
      stream.hash.update(data);
      if (stream.out !== undefined) await append(stream.out, data).catch((error: unknown) => fail(id, stream, error));
    }
    reply({ id, data, sole }, [data.buffer as ArrayBuffer]);
  } else if ("into" in request) {
    const stream = streamOf(id);
    try {
      stream.out = await openOut(request.into);
    } catch (error) {
      fail(id, stream, error);
    }
  } else if ("copy" in request) {
    const stream = streamOf(id);
    if (stream.failure === undefined) {
      try {
        if (stream.out === undefined) throw new Error("a copy into a stream that writes no file");
        const short = await copy(stream, stream.out, request.copy);
        if (short !== undefined) fail(id, stream, short);
      } catch (error) {
        fail(id, stream, error);
      }
    }
    reply({ id, copied: request.copy.length });
  } else {
    const stream = streamOf(id);
    streams.delete(id);
    await closeSource(stream).catch((error: unknown) => fail(id, stream, error, false));
    if (stream.out !== undefined) await finishOut(stream.out, "drop" in request || stream.failure !== undefined).catch((error: unknown) => fail(id, stream, error, false));
    if ("drop" in request) reply({ id, dropped: true });
    else if (stream.failure !== undefined) reply({ id, failed: stream.failure });
    else reply({ id, digest: stream.hash.digest("hex") });
  }
}

/** The stream fails: said at once (the sender stops sending), and again at its end. */
function fail(id: number, stream: Stream, error: unknown, tell = true): void {
  if (stream.failure !== undefined) return;
  stream.failure = typeof error === "object" && error !== null && "short" in error ? (error as StreamFailure) : failureOf(error);
  if (tell) parentPort!.postMessage({ id, failed: stream.failure } satisfies HashReply);
}

// One request at a time, in order: a stream's writes wait for their stages without letting
// a later request overtake.
// handle() turns every failure into its stream's: a rejection left is a bug, and kills the
// thread (which the sender reports for every stream).
let queue: Promise<void> = Promise.resolve();
parentPort?.on("message", (request: HashRequest) => {
  queue = queue.then(() => handle(request));
});
