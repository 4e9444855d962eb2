import { mkdtemp, realpath, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { runServed } from "../../util/command-server.js";

test("runs a program with its arguments as given, in its directory, and returns its output and status", async () => {
  const dir = await realpath(await mkdtemp(join(tmpdir(), "tsbuild-served-test-")));
  try {
    const pwd = await runServed("pwd", [], { cwd: dir });
    assert.equal({ status: pwd.status, stdout: pwd.stdout.toString() }, { status: 0, stdout: `${dir}\n` });
    // Quotes, spaces, $ and backquotes reach the program untouched.
    const printed = await runServed("printf", ["%s|", "a'b", "c d", "$HOME", "`id`", ""]);
    assert.is(printed.stdout.toString(), "a'b|c d|$HOME|`id`||");
    const failed = await runServed("sh", ["-c", "echo out; echo err >&2; exit 3"]);
    assert.equal({ status: failed.status, stdout: failed.stdout.toString(), stderr: failed.stderr }, { status: 3, stdout: "out\n", stderr: "err\n" });
    assert.is((await runServed("tsbuild-no-such-program", [])).status, "not-found");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("programs run side by side: one that waits does not hold up the others", async () => {
  // The first waits until the last has run (a file appears), which only works side by side.
  const dir = await mkdtemp(join(tmpdir(), "tsbuild-served-test-"));
  try {
    const flag = join(dir, "flag");
    const waiting = runServed("sh", ["-c", `for i in $(seq 600); do [ -e '${flag}' ] && exit 0; sleep 0.1; done; exit 1`]);
    const others = await Promise.all(Array.from({ length: 10 }, (_, i) => runServed("sh", ["-c", `echo ${i}`])));
    assert.equal(others.map((r) => r.stdout.toString()), Array.from({ length: 10 }, (_, i) => `${i}\n`));
    await runServed("touch", [flag]);
    assert.is((await waiting).status, 0);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("output files are reused one program after another, and each program gets only its own output", async () => {
  const long = await runServed("sh", ["-c", "printf 'a%.0s' $(seq 100); printf 'e%.0s' $(seq 100) >&2; exit 4"]);
  assert.equal({ status: long.status, out: long.stdout.length, err: long.stderr.length }, { status: 4, out: 100, err: 100 });
  const short = await runServed("sh", ["-c", "echo b; echo f >&2; exit 5"]);
  assert.equal({ status: short.status, stdout: short.stdout.toString(), stderr: short.stderr }, { status: 5, stdout: "b\n", stderr: "f\n" });
  // A status-only program's error text, after others wrote more to the same files.
  const quiet = await runServed("sh", ["-c", "echo g >&2; exit 6"], { output: false });
  assert.equal({ status: quiet.status, stderr: quiet.stderr }, { status: 6, stderr: "g\n" });
});

test.run();
