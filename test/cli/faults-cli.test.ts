import { randomBytes } from "node:crypto";
import { mkdir, readdir, statfs, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { runCommand } from "../../snapshotter/run-command.js";
import { cleanupRoot, makeRoot } from "../snapshotter/tree-fixtures.js";
import { busyboxTar } from "../worker/worker-fixture.js";
import { runTsbuild, type CliResult } from "./run-tsbuild.js";

/** A clean failure: the status, one `error:` line with its hint, no stack, no "internal error". */
function assertCleanFailure(result: CliResult, status: number, message: RegExp): void {
  assert.is(result.status, status, result.stdout + result.stderr);
  assert.match(result.stderr, message);
  assert.not.match(result.stderr, /internal error|^\s+at |node:internal/m, result.stderr);
}

test("on a read-only root, reading commands work and writing ones say the root is read-only", async () => {
  const dir = await makeRoot();
  try {
    const root = join(dir, "root");
    const tar = await busyboxTar(dir);
    assert.is((await runTsbuild(["import", tar, "ro/base:1", "--root", root], dir)).status, 0);
    const readOnly = join(dir, "ro");
    await mkdir(readOnly);
    await runCommand("mount", ["--bind", root, readOnly]);
    await runCommand("mount", ["-o", "remount,ro,bind", readOnly]);
    const context = join(dir, "context");
    await mkdir(context);
    await writeFile(join(context, "Dockerfile"), "FROM ro/base:1\nRUN true\n");

    for (const args of [["images"], ["fsck"], ["inspect", "ro/base:1"], ["history", "ro/base:1"], ["system", "df"], ["save", "-o", join(dir, "out.tar"), "ro/base:1"]]) {
      const result = await runTsbuild([...args, "--root", readOnly], dir);
      assert.is(result.status, 0, `${args.join(" ")}: ${result.stderr}`);
    }
    for (const args of [["tag", "ro/base:1", "ro/other:1"], ["rmi", "ro/base:1"], ["import", tar, "ro/new:1"], ["load", "-i", join(dir, "out.tar")], ["build", context], ["prune", "-a", "-f"]]) {
      const result = await runTsbuild([...args, "--root", readOnly], dir);
      assertCleanFailure(result, 1, /^error: Cannot change the store at ".*": it is on a read-only file system$/m);
    }
  } finally {
    await cleanupRoot(dir);
  }
});

test("a full disk reads as a full disk (code, hint), and leaves the store intact with its space returned", async () => {
  const dir = await makeRoot();
  try {
    const small = join(dir, "small");
    await mkdir(small);
    await runCommand("mount", ["-t", "tmpfs", "-o", "size=24m", "tsbuild-test-full", small]);
    const root = join(small, "root");
    assert.is((await runTsbuild(["import", await busyboxTar(dir), "full/base:1", "--root", root], dir)).status, 0);
    const used = async () => {
      const info = await statfs(small);
      return (info.blocks - info.bfree) * info.bsize;
    };
    const before = await used();
    const big = join(dir, "big.bin");
    await writeFile(big, randomBytes(40 * 1024 * 1024));

    const imported = await runTsbuild(["import", big, "full/big:1", "--root", root], dir);
    assertCleanFailure(imported, 1, /^error: .*no space left on device/m);
    assert.match(imported.stderr, /^hint: Free space/m);

    const context = join(dir, "context");
    await mkdir(context);
    await writeFile(join(context, "big.bin"), randomBytes(30 * 1024 * 1024));
    await writeFile(join(context, "Dockerfile"), "FROM full/base:1\nCOPY big.bin /big.bin\n");
    const built = await runTsbuild(["build", "--root", root, context], dir);
    assertCleanFailure(built, 1, /no space left on device/);

    const fsck = await runTsbuild(["fsck", "--root", root], dir);
    assert.is(fsck.status, 0, fsck.stdout + fsck.stderr);
    assert.equal(await readdir(join(root, "content", "ingest")), []);
    assert.equal(await readdir(join(root, "tmp")), []);
    assert.is((await runTsbuild(["prune", "-a", "-f", "--root", root], dir)).status, 0);
    assert.ok((await used()) <= before + 1024 * 1024, `space returned: ${before} bytes used before, ${await used()} after`);
  } finally {
    await cleanupRoot(dir);
  }
});

test("--iidfile in a missing directory, --metadata-file naming a directory and --secret with a missing src are refused before building", async () => {
  const dir = await makeRoot();
  try {
    const root = join(dir, "root");
    const context = join(dir, "context");
    await mkdir(context);
    // A build that would fail if it ran: the checks must come first.
    await writeFile(join(context, "Dockerfile"), "FROM tsbuild-test/never-pulled:1\n");
    assertCleanFailure(
      await runTsbuild(["build", "--root", root, "--iidfile", join(dir, "missing", "iid"), context], dir),
      1,
      /^error: Cannot use --iidfile ".*": directory ".*missing" does not exist$/m,
    );
    assertCleanFailure(await runTsbuild(["build", "--root", root, "--metadata-file", dir, context], dir), 125, /^error: Cannot use --metadata-file ".*": it is a directory$/m);
    assertCleanFailure(
      await runTsbuild(["build", "--root", root, "--secret", `id=x,src=${join(dir, "MISSING")}`, context], dir),
      1,
      /^error: Cannot use secret "x": file ".*MISSING" does not exist$/m,
    );
  } finally {
    await cleanupRoot(dir);
  }
});

test.run();
