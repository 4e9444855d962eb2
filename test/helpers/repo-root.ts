import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The checkout's root (the directory holding package.json), found from a module's URL. */
export function repoRoot(from: string = import.meta.url): string {
  let dir = dirname(fileURLToPath(from));
  while (!existsSync(join(dir, "package.json"))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`No package.json above ${fileURLToPath(from)}`);
    dir = parent;
  }
  return dir;
}

/** The built module directory this test runs from (dist/ or another outDir). */
export function builtRoot(): string {
  // This file is compiled to <outDir>/test/helpers/repo-root.js.
  return dirname(dirname(dirname(fileURLToPath(import.meta.url))));
}
