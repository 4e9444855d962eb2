// Bundles the compiled CLI (dist/cli/main.js and every module it imports, statically or
// lazily) into that one file, in place. Node resolves, reads and compiles some two hundred
// modules on every start otherwise: about 80 ms of a no-op build here, and Node 20 has no
// compile cache. npm packages stay outside (node_modules), as do the separate entry points
// the CLI starts (shim, deflate worker, UDP relay child), which run from dist/ as compiled.
import { build } from "esbuild";
import { fileURLToPath } from "node:url";

const main = fileURLToPath(new URL("../dist/cli/main.js", import.meta.url));
await build({
  entryPoints: [main],
  outfile: main,
  allowOverwrite: true,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  packages: "external",
  // Keep names: typed errors and stack traces (with TSBUILD_DEBUG) read as in the source.
  keepNames: true,
  logLevel: "warning",
});
