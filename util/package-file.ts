import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

let root: string | undefined;

/**
 * The absolute path of `path` (relative to tsbuild's package directory, e.g.
 * `dist/oci/deflate-worker.js`). Found by walking up from this module to tsbuild's own
 * package.json, so it holds both in the compiled tree and in the CLI's one-file bundle
 * (scripts/bundle-cli.mjs), where every module shares the bundle's `import.meta.url`.
 */
export function packageFile(path: string): string {
  root ??= findPackageRoot(dirname(fileURLToPath(import.meta.url)));
  return join(root, path);
}

function findPackageRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const manifest = join(dir, "package.json");
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, "utf8")) as { name?: string }).name === "tsbuild") return dir;
    if (dirname(dir) === dir) throw new Error(`Cannot find tsbuild's package.json above "${from}"`);
  }
}
