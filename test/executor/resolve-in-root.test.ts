import { mkdir, mkdtemp, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { resolveInRoot } from "../../executor/resolve-in-root.js";

async function withRoot(fn: (root: string) => Promise<void>): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), "tsbuild-resolve-test-"));
  try {
    await fn(root);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

test("a plain path maps under the root, missing parts kept as written", async () => {
  await withRoot(async (root) => {
    assert.is(await resolveInRoot(root, "/etc/passwd"), join(root, "etc/passwd"));
    assert.is(await resolveInRoot(root, "a/./b/../c"), join(root, "a/c"));
  });
});

test("dot-dot never climbs above the root", async () => {
  await withRoot(async (root) => {
    assert.is(await resolveInRoot(root, "/../../../etc/shadow"), join(root, "etc/shadow"));
  });
});

test("an absolute symlink resolves from the root, not from the host's /", async () => {
  await withRoot(async (root) => {
    await mkdir(join(root, "etc"));
    await symlink("/real/passwd", join(root, "etc/passwd"));
    assert.is(await resolveInRoot(root, "/etc/passwd"), join(root, "real/passwd"));
  });
});

test("a relative symlink that climbs out stays inside", async () => {
  await withRoot(async (root) => {
    await mkdir(join(root, "etc"));
    await symlink("../../../../host/secret", join(root, "etc/passwd"));
    assert.is(await resolveInRoot(root, "/etc/passwd"), join(root, "host/secret"));
  });
});

test("a symlinked directory in the middle is followed", async () => {
  await withRoot(async (root) => {
    await mkdir(join(root, "usr/etc"), { recursive: true });
    await symlink("usr/etc", join(root, "etc"));
    assert.is(await resolveInRoot(root, "/etc/group"), join(root, "usr/etc/group"));
  });
});

test("a symlink loop is an error, not a hang", async () => {
  await withRoot(async (root) => {
    await symlink("/b", join(root, "a"));
    await symlink("/a", join(root, "b"));
    let failed = false;
    await resolveInRoot(root, "/a/x").catch(() => (failed = true));
    assert.ok(failed);
  });
});

test.run();
