// Writes dist/version.js so `tsbuild --version` needs no package.json read or import graph.
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
mkdirSync(new URL("../dist/", import.meta.url), { recursive: true });
writeFileSync(new URL("../dist/version.js", import.meta.url), `export const VERSION = ${JSON.stringify(pkg.version)};\n`);
