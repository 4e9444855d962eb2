/**
 * The entry point of a container's shim process: `node shim-main.js ROOT ID attached|detached`.
 * See container-shim.ts.
 */
import { runShim, type ShimMode } from "./container-shim.js";

const [root, id, mode] = process.argv.slice(2);
try {
  process.exitCode = await runShim(root, id, { mode: mode as ShimMode });
} catch (error) {
  process.stderr.write(`tsbuild shim: ${(error as Error).message}\n`);
  process.exitCode = 125;
}
