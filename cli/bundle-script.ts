import { Script } from "node:vm";

/**
 * The CLI's one-file bundle (scripts/bundle-cli.mjs) as a compiled script, with V8's code
 * cache when one is given. Shared by the command (cli/main.ts) and its test, so both wrap
 * the source the same way: a cache only fits the exact text it was made from.
 */
export function compileBundle(source: string, filename: string, cachedData?: Buffer): Script {
  return new Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename,
    ...(cachedData === undefined ? {} : { cachedData }),
  });
}

/** The bundle's first line: the id of its build, which names its cache file. */
export function bundleHeader(id: string): string {
  return `// tsbuild-bundle ${id}\n`;
}

/** The build id on the bundle's first line, if it has one. */
export function bundleId(source: string): string | undefined {
  return /^\/\/ tsbuild-bundle ([0-9a-f]+)\n/.exec(source)?.[1];
}

/** The code cache file of the bundle build `id`, beside the bundle. */
export function bundleCacheName(id: string): string {
  return `tsbuild.bundle.${id}.cache`;
}
