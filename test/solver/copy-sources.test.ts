import { lstat, mkdir, mkdtemp, rm, symlink, utimes, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { selectorAction } from "../../solver/ops/context-files.js";
import { collectCopySources } from "../../solver/copy-sources.js";

/** Everything in the context, as a bind mount of it reads it. */
const COPY_ALL = selectorAction("/");

async function withContext(fn: (context: string) => Promise<void>): Promise<void> {
  const context = await mkdtemp(join(tmpdir(), "tsb-sources-"));
  try {
    await fn(context);
  } finally {
    await rm(context, { recursive: true, force: true });
  }
}

test("the walk lists a context depth first in sorted order, with .dockerignore, its exceptions and --exclude applied", async () => {
  await withContext(async (context) => {
    for (const dir of ["b/deep", "a", "ignored/keep", "ignored/not"]) await mkdir(join(context, dir), { recursive: true });
    for (const file of ["z.txt", "b/deep/x", "b/y", "a/1", "a/10", "a/2", "ignored/keep/k", "ignored/not/n", "ignored/top", "skip.log", "b/skip.log"]) {
      await writeFile(join(context, file), file);
    }
    await symlink("../z.txt", join(context, "b", "link"));
    const matches = await collectCopySources(context, { ...COPY_ALL, excludePatterns: ["**/*.log"] }, { kind: "context", ignore: ["ignored", "!ignored/keep"] });
    assert.is(matches.length, 1);
    const entries = matches[0].entries;
    assert.equal(
      entries.map((entry) => entry.rel),
      ["", "a", "a/1", "a/10", "a/2", "b", "b/deep", "b/deep/x", "b/link", "b/y", "ignored/keep", "ignored/keep/k", "z.txt"],
    );
    assert.equal(
      entries.map((entry) => entry.hostPath),
      entries.map((entry) => (entry.rel === "" ? context : join(context, entry.rel))),
    );
    assert.is(entries.find((entry) => entry.rel === "b/link")?.linkTarget, "../z.txt");
  });
});

test("an entry's stat says what Node's lstat says: type, mode, owner, size, inode and times (Dates rounded to the millisecond as Node's)", async () => {
  await withContext(async (context) => {
    await mkdir(join(context, "dir"));
    await writeFile(join(context, "file"), "twelve bytes");
    await symlink("file", join(context, "link"));
    // Fractional seconds whose milliseconds round up: a Date made by truncation would be off by one.
    await utimes(join(context, "file"), 1_000_000.5996, 1_000_001.6007);
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(join(context, "socket"), resolve));
    try {
      const [match] = await collectCopySources(context, COPY_ALL, { kind: "context" });
      assert.equal(match.entries.map((entry) => entry.rel), ["", "dir", "file", "link", "socket"]);
      for (const entry of match.entries) {
        const real = await lstat(entry.hostPath);
        const { stat } = entry;
        // Not atime: listing a directory may update it (relatime) after the walk.
        const facts = (s: typeof stat) => [s.mode, s.uid, s.gid, s.size, s.ino, s.dev, s.mtimeMs, s.ctimeMs, s.mtime.getTime()];
        assert.equal(facts(stat), facts(real), entry.rel);
        const types = (s: typeof stat) => [s.isFile(), s.isDirectory(), s.isSymbolicLink(), s.isSocket()];
        assert.equal(types(stat), types(real), entry.rel);
      }
      const file = match.entries.find((entry) => entry.rel === "file")!.stat;
      const real = await lstat(join(context, "file"));
      assert.equal([file.atimeMs, file.atime.getTime()], [real.atimeMs, real.atime.getTime()]);
      assert.equal([file.size, file.atime.getTime(), file.mtime.getTime()], [12, 1_000_000_600, 1_000_001_601]);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

test.run();
