import { lstat, mkdir, readdir, readFile, stat, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { acquireCacheDir } from "../../executor/cache-mount.js";
import { filteredCopy } from "../../executor/filtered-copy.js";
import { cleanupRoot, makeRoot } from "../snapshotter/tree-fixtures.js";

/** A context: app/ with a secret and logs that .dockerignore leaves out, one log brought back. */
async function context(dir: string): Promise<{ root: string; patterns: string[] }> {
  const root = join(dir, "context");
  await mkdir(join(root, "app", "logs"), { recursive: true });
  await writeFile(join(root, "app", "main.sh"), "echo hi\n", { mode: 0o755 });
  await writeFile(join(root, "app", "secret.key"), "do-not-ship\n");
  await writeFile(join(root, "app", "logs", "keep.log"), "kept\n");
  await writeFile(join(root, "app", "logs", "drop.log"), "dropped\n");
  await symlink("secret.key", join(root, "app", "alias"));
  return { root, patterns: ["**/*.key", "app/logs", "!app/logs/keep.log"] };
}

async function tree(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true })).sort();
}

test("a filtered copy of a context directory leaves out what .dockerignore excludes, keeps exceptions, links and modes", async () => {
  const dir = await makeRoot();
  try {
    const { root, patterns } = await context(dir);
    const linked = join(dir, "linked");
    await filteredCopy(join(root, "app"), linked, { root, patterns, link: true });
    assert.equal(await tree(linked), ["alias", "logs", "logs/keep.log", "main.sh"]);
    assert.is((await lstat(join(linked, "alias"))).isSymbolicLink(), true, "a link stays a link (dangling now, as in BuildKit's filtered context)");
    assert.is((await stat(join(linked, "main.sh"))).mode & 0o777, 0o755);
    assert.is((await stat(join(linked, "main.sh"))).ino, (await stat(join(root, "app", "main.sh"))).ino, "read-only binds share the inode");
    const copied = join(dir, "copied");
    await filteredCopy(join(root, "app"), copied, { root, patterns, link: false });
    assert.is.not((await stat(join(copied, "main.sh"))).ino, (await stat(join(root, "app", "main.sh"))).ino, "writable binds get copies");
  } finally {
    await cleanupRoot(dir);
  }
});

test("a cache mount seeded from a build context starts without the ignored files", async () => {
  const dir = await makeRoot();
  try {
    const { root, patterns } = await context(dir);
    const lease = await acquireCacheDir(join(dir, "caches"), { type: "cache", target: "/c", seed: { path: join(root, "app"), key: "ctx", ignore: { root, patterns } } });
    try {
      assert.equal(await tree(lease.path), ["alias", "logs", "logs/keep.log", "main.sh"]);
      assert.is(await readFile(join(lease.path, "logs", "keep.log"), "utf8"), "kept\n");
    } finally {
      await lease.release();
    }
  } finally {
    await cleanupRoot(dir);
  }
});

test.run();
