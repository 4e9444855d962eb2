// Bundles the compiled CLI (dist/cli/tsbuild.js and every module it imports, statically or
// lazily) into dist/cli/main.js, the `tsbuild` command. Node resolves, reads and compiles
// some two hundred modules on every start otherwise: about 80 ms of a no-op build here, and
// Node 20 has no compile cache. npm packages stay outside (node_modules), as do the separate
// entry points the CLI starts (shim, deflate worker, UDP relay child), which run from dist/
// as compiled. The output is a file tsc never writes: tsc's incremental build leaves
// unchanged outputs alone, so bundling in place would bundle the previous bundle.
import { build } from "esbuild";
import { rm } from "node:fs/promises";
import { fileURLToPath } from "node:url";

const dist = (path) => fileURLToPath(new URL(`../dist/cli/${path}`, import.meta.url));
// Left by builds from before the entry had its own name.
await Promise.all(["main.js.map", "main.d.ts"].map((name) => rm(dist(name), { force: true })));
await build({
  entryPoints: [dist("tsbuild.js")],
  outfile: dist("main.js"),
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  packages: "external",
  // Keep names: typed errors and stack traces (with TSBUILD_DEBUG) read as in the source.
  keepNames: true,
  logLevel: "warning",
});
