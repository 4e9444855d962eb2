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
