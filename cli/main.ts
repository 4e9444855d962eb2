#!/usr/bin/env node
// The `tsbuild` command, as bin/tsbuild starts it (see there why not directly). It runs the CLI's one-file bundle (scripts/bundle-cli.mjs) as a
// script compiled with V8's code cache, which `npm run build` makes: Node 20 has no
// compile cache of its own, and parsing and compiling the CLI's code was about a third of
// a small build's main-thread time (~90 ms of start-up, more on first use of each
// function). Without a bundle (only tsc has run) it runs the compiled tree instead.
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { bundleCacheName, bundleId, compileBundle } from "./bundle-script.js";

const here = dirname(fileURLToPath(import.meta.url));
const bundle = join(here, "tsbuild.bundle.cjs");

// Not util/stat-if-exists.ts: it would load the error modules, uncached, before the bundle.
const readIfExists = <T>(read: () => T): T | undefined => {
  try {
    return read();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
};

// ASCII only (scripts/bundle-cli.mjs escapes the rest): latin1 reads it without decoding.
const source = readIfExists(() => readFileSync(bundle, "latin1"));
if (source === undefined) {
  await import("./tsbuild.js");
} else {
  // V8 checks a cache against its own version, its flags and the source's length only, so
  // each build of the bundle has a cache of its own name. A rejected cache (another Node,
  // other V8 flags) only means compiling as without one.
  const id = bundleId(source);
  const cachedData = id === undefined ? undefined : readIfExists(() => readFileSync(join(here, bundleCacheName(id))));
  const script = compileBundle(source, bundle, cachedData);
  // Set by scripts/bundle-cli.mjs only: after a representative command, the code compiled
  // so far (lazily compiled functions included) becomes the cache.
  const cacheOut = process.env.TSBUILD_WRITE_CODE_CACHE;
  if (cacheOut !== undefined) process.once("exit", () => writeFileSync(cacheOut, script.createCachedData()));
  const run = script.runInThisContext() as (exports: object, require: NodeRequire, module: { exports: object }, filename: string, dirname: string) => void;
  const module = { exports: {} };
  run(module.exports, createRequire(bundle), module, bundle, here);
}
