import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { bundleCacheName, bundleId, compileBundle } from "../../cli/bundle-script.js";
import { builtRoot, repoRoot } from "../helpers/repo-root.js";

// The `tsbuild` command (cli/main.ts) runs the CLI's one-file bundle with V8's code cache,
// both made by `npm run build` (scripts/bundle-cli.mjs).
const cliDir = join(builtRoot(), "cli");
const bundleFile = join(cliDir, "tsbuild.bundle.cjs");
const version = (JSON.parse(readFileSync(join(repoRoot(), "package.json"), "utf8")) as { version: string }).version;

/** A package directory with only the command's files and these extra files of dist/cli/ (name → contents). */
function packageCopy(files: Record<string, string | Buffer>): { dir: string; run: (args: string[], input?: string) => ReturnType<typeof spawnSync> } {
  const dir = mkdtempSync(join(tmpdir(), "tsbuild-cli-bundle-"));
  copyFileSync(join(repoRoot(), "package.json"), join(dir, "package.json"));
  mkdirSync(join(dir, "dist", "cli"), { recursive: true });
  for (const name of ["main.js", "bundle-script.js"]) copyFileSync(join(cliDir, name), join(dir, "dist", "cli", name));
  for (const [name, contents] of Object.entries(files)) {
    mkdirSync(join(dir, "dist", name, ".."), { recursive: true });
    writeFileSync(join(dir, "dist", name), contents);
  }
  return { dir, run: (args, input) => spawnSync(process.execPath, [join(dir, "dist", "cli", "main.js"), ...args], { input, encoding: "utf8" }) };
}

test("the build made a code cache for this very bundle, and V8 takes it", () => {
  const source = readFileSync(bundleFile, "utf8");
  const id = bundleId(source);
  assert.ok(id, "the bundle's first line names its build");
  const cache = readFileSync(join(cliDir, bundleCacheName(id)));
  const script = compileBundle(source, bundleFile, cache);
  assert.is(script.cachedDataRejected, false);
});

test("the bundle alone runs the command, npm packages included; a cache V8 rejects only costs time", () => {
  const source = readFileSync(bundleFile, "utf8");
  const copy = packageCopy({ "cli/tsbuild.bundle.cjs": source, [`cli/${bundleCacheName(bundleId(source)!)}`]: Buffer.from("not a code cache".repeat(64)) });
  try {
    const versionRun = copy.run(["--version"]);
    assert.is(versionRun.stderr, "");
    assert.is(versionRun.stdout, `tsbuild ${version}\n`);
    // The parser (Chevrotain, statically in the bundle) and the renderer, from no node_modules.
    const parsed = copy.run(["debug", "parse", "-f", "-", "--format", "json"], "FROM busybox AS base\nRUN echo hi\n");
    assert.is(parsed.status, 0, String(parsed.stderr));
    assert.match(String(parsed.stdout), /"keyword": "RUN"/);
  } finally {
    rmSync(copy.dir, { recursive: true, force: true });
  }
});

test("without a bundle (only tsc has run) the command runs the compiled tree", () => {
  const copy = packageCopy({
    "cli/tsbuild.js": readFileSync(join(cliDir, "tsbuild.js")),
    "util/package-file.js": readFileSync(join(builtRoot(), "util", "package-file.js")),
  });
  try {
    const run = copy.run(["--version"]);
    assert.is(run.stderr, "");
    assert.is(run.stdout, `tsbuild ${version}\n`);
  } finally {
    rmSync(copy.dir, { recursive: true, force: true });
  }
});

test.run();
