import { createRequire } from "node:module";

/**
 * Node's modules that only some commands use, loaded on first use. Each costs milliseconds
 * at load (zlib 3, worker_threads 2 here), and a static import loads it on every start, a
 * build that neither compresses nor hashes a large layer off the main thread included.
 */
const load = createRequire(import.meta.url);

let zlibModule: typeof import("node:zlib") | undefined;
let workerThreadsModule: typeof import("node:worker_threads") | undefined;

export function zlib(): typeof import("node:zlib") {
  return (zlibModule ??= load("node:zlib") as typeof import("node:zlib"));
}

export function workerThreads(): typeof import("node:worker_threads") {
  return (workerThreadsModule ??= load("node:worker_threads") as typeof import("node:worker_threads"));
}

/**
 * A worker thread running the module at `file`. It gets the process's Node options but
 * `--input-type`, which Node refuses for a file (a program started as `node --input-type=module
 * -e ...` would otherwise get threads that die at start).
 */
export function startWorker(file: string): import("node:worker_threads").Worker {
  return new (workerThreads().Worker)(file, { execArgv: process.execArgv.filter((arg) => !arg.startsWith("--input-type")) });
}
