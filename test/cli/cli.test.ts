import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { builtRoot, repoRoot } from "../helpers/repo-root.js";

const main = join(builtRoot(), "cli", "main.js");

function tsbuild(args: string[], input?: string) {
  const result = spawnSync(process.execPath, [main, ...args], { input, encoding: "utf8", cwd: repoRoot() });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

test("tsbuild --version prints the package version", () => {
  const pkg = JSON.parse(readFileSync(join(repoRoot(), "package.json"), "utf8")) as { version: string };
  const result = tsbuild(["--version"]);
  assert.is(result.status, 0);
  assert.is(result.stdout, `tsbuild ${pkg.version}\n`);
});

test("tsbuild with no arguments lists the commands", () => {
  const result = tsbuild([]);
  assert.is(result.status, 0);
  assert.match(result.stdout, /debug parse/);
  assert.match(result.stdout, /debug expand/);
});

test("an unknown command fails with a suggestion", () => {
  const result = tsbuild(["debgu", "parse"]);
  assert.is(result.status, 125);
  assert.match(result.stderr, /Unknown command "debgu"/);
  assert.match(result.stderr, /Did you mean "tsbuild debug"/);
});

test("an unknown flag fails with a suggestion and a usage exit status (125, as docker)", () => {
  const result = tsbuild(["debug", "parse", "--fromat", "json"]);
  assert.is(result.status, 125);
  assert.match(result.stderr, /Unknown flag "--fromat"/);
  assert.match(result.stderr, /Did you mean "--format"\?/);
});

test("each command's --help is generated from its options", () => {
  const result = tsbuild(["debug", "expand", "--help"]);
  assert.is(result.status, 0);
  assert.match(result.stdout, /Usage: tsbuild debug expand/);
  assert.match(result.stdout, /--escape C/);
  assert.match(result.stdout, /--env K=V .*\(repeatable\)/);
});

test("debug parse prints BuildKit's dump of standard input", () => {
  const result = tsbuild(["debug", "parse", "-f", "-"], 'FROM busybox AS base\nCOPY --chown=1 a /b\nCMD ["sh"]\n');
  assert.is(result.stderr, "");
  assert.is(result.status, 0);
  assert.is(result.stdout, '(from "busybox" "AS" "base")\n(copy ["--chown=1"] "a" "/b")\n(cmd "sh")\n');
});

test("debug parse --format json gives source ranges", () => {
  const result = tsbuild(["debug", "parse", "-f", "-", "--format", "json"], "FROM busybox\nRUN echo \\\n  hi\n");
  assert.is(result.status, 0);
  const json = JSON.parse(result.stdout);
  const text = JSON.stringify(json);
  assert.match(text, /"line":3/);
});

test("a Dockerfile syntax error exits 1 with its location and a code frame", () => {
  const result = tsbuild(["debug", "parse", "-f", "-"], 'FROM busybox\nCMD ["a", 1]\n');
  assert.is(result.status, 1);
  assert.match(result.stderr, /^error: <stdin>:2:\d+: /);
  assert.match(result.stderr, />\s+2 \| CMD \["a", 1\]/);
});

test("a missing Dockerfile is reported by name", () => {
  const result = tsbuild(["debug", "parse", "-f", "no/such/Dockerfile"]);
  assert.is(result.status, 1);
  assert.match(result.stderr, /Cannot read "no\/such\/Dockerfile": no such file/);
});

test("debug expand prints the expansion as JSON", () => {
  const result = tsbuild(["debug", "expand", "--env", "NAME=world", "hello-${NAME:-x}-'$NAME'"]);
  assert.is(result.status, 0);
  assert.is(result.stdout, '"hello-world-$NAME"\n');
});

test("debug expand --words splits unquoted expansions", () => {
  const result = tsbuild(["debug", "expand", "--words", "--env", "A=x y", '$A "q r"']);
  assert.is(result.status, 0);
  assert.equal(JSON.parse(result.stdout), ["x", "y", "q r"]);
});

test("debug expand reports a bad expansion with exit status 1", () => {
  const result = tsbuild(["debug", "expand", "${A:?is required}"]);
  assert.is(result.status, 1);
  assert.match(result.stderr, /A: is required/);
});

test("info reports the root, the snapshotter and a usable default runtime", () => {
  const root = mkdtempSync(join(tmpdir(), "tsbuild-info-"));
  try {
    const result = tsbuild(["info", "--root", root, "--format", "json"]);
    assert.is(result.status, 0, result.stderr);
    const info = JSON.parse(result.stdout);
    assert.is(info.root, root);
    assert.ok(["overlayfs", "native"].includes(info.snapshotter.name));
    const names = info.runtimes.map((r: { name: string }) => r.name);
    assert.equal(names, ["runc", "crun"]);
    assert.ok(info.runtimes.some((r: { name: string; usable: boolean }) => r.name === info.defaultRuntime && r.usable));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test.run();
