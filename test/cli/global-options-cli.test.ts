import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { runTsbuild } from "./run-tsbuild.js";

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "tsbuild-globals-"));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test("--root before the command is the store root, not a build context named after the command", async () => {
  await withDir(async (dir) => {
    await writeFile(join(dir, "Dockerfile"), "FROM scratch\nWORKDIR /app\n");
    const built = await runTsbuild(["--root", join(dir, "root"), "build", "-q", "-t", "first:1", "."], dir);
    assert.is(built.status, 0, built.stderr);
    for (const args of [
      ["--root", join(dir, "root"), "images"],
      [`--root=${join(dir, "root")}`, "images"],
      ["images", "--root", join(dir, "root")],
      ["-D", "--root", join(dir, "root"), "images"],
    ]) {
      const listed = await runTsbuild(args, dir);
      assert.is(listed.status, 0, `${args.join(" ")}: ${listed.stderr}`);
      assert.match(listed.stdout, /^first +1 /m, args.join(" "));
    }
  });
});

test("the global flags go after a command that has no --root of its own, and --help lists them", async () => {
  await withDir(async (dir) => {
    await writeFile(join(dir, "Dockerfile"), "FROM scratch\n");
    const parsed = await runTsbuild(["debug", "parse", "--log-level", "error", "-D", "--root", dir], dir);
    assert.is(parsed.status, 0, parsed.stderr);
    assert.is(parsed.stdout, '(from "scratch")\n');
    const help = await runTsbuild(["debug", "parse", "--help"], dir);
    assert.match(help.stdout, /Global options:\n {6}--root DIR .*\n {2}-D, --debug .*\n {2}-l, --log-level LEVEL/);
    assert.match((await runTsbuild(["--help"], dir)).stdout, /Global options \(before or after the command\):/);
  });
});

test("after run's image the global flags belong to the container's command line", async () => {
  await withDir(async (dir) => {
    // The image does not exist: what matters is that "--root" after it was not taken as tsbuild's.
    const result = await runTsbuild(["run", "--root", join(dir, "root"), "no-such-image:1", "ls", "--root", "/elsewhere"], dir);
    assert.is(result.status, 125);
    assert.match(result.stderr, /No such image "no-such-image:1"/);
  });
});

test("--debug shows an error's code and stack; a bad --log-level is a usage error", async () => {
  await withDir(async (dir) => {
    const plain = await runTsbuild(["--root", dir, "build", "--target", "nope", "-q", "."], dir);
    await writeFile(join(dir, "Dockerfile"), "FROM scratch\n");
    const quiet = await runTsbuild(["--root", dir, "build", "--target", "nope", "-q", "."], dir);
    assert.not.match(quiet.stderr, /^debug:/m);
    const debug = await runTsbuild(["--debug", "--root", dir, "build", "--target", "nope", "-q", "."], dir);
    assert.is(debug.status, 125, "a --target no stage has is a bad flag value");
    assert.match(debug.stderr, /^error: target stage "nope" could not be found\n/);
    assert.match(debug.stderr, /^debug: \[USAGE\] TsbuildError: target stage "nope"[^\n]*\n {4}at /m);
    assert.is(plain.status, 1, "no Dockerfile is a failure, not a usage error");
    const bad = await runTsbuild(["--log-level", "loud", "images"], dir);
    assert.is(bad.status, 125);
    assert.match(bad.stderr, /Cannot use --log-level "loud"/);
  });
});

test("--log-level error hides a build's warnings; warn (the default) shows them", async () => {
  await withDir(async (dir) => {
    await writeFile(join(dir, "Dockerfile"), "FROM scratch\nMAINTAINER me\n");
    const shown = await runTsbuild(["--root", join(dir, "root"), "build", "--progress", "plain", "."], dir);
    assert.is(shown.status, 0, shown.stderr);
    assert.match(shown.stderr, /^WARNING: Maintainer instruction is deprecated in favor of using label \(Dockerfile:2\)$/m);
    const hidden = await runTsbuild(["build", "--progress", "plain", "--log-level", "error", "--root", join(dir, "root"), "."], dir);
    assert.is(hidden.status, 0, hidden.stderr);
    assert.not.match(hidden.stderr, /WARNING/);
    const fromEnv = await runTsbuild(["--root", join(dir, "root"), "build", "--progress", "plain", "."], dir, { TSBUILD_LOG_LEVEL: "fatal" });
    assert.not.match(fromEnv.stderr, /WARNING/);
  });
});

test.run();
