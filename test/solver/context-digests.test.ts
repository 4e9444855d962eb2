import { mkdir, mkdtemp, rm, stat, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { ContextDigests } from "../../solver/context-digests.js";
import { collectCopySources, sourceLines } from "../../solver/copy-sources.js";
import { openStore } from "../../store/store.js";

const COPY_ALL = {
  action: "copy" as const,
  source: 1,
  src: "/",
  dest: "/",
  followSymlinks: true,
  dirContentsOnly: true,
  attemptUnpack: false,
  createDestPath: true,
  allowWildcard: true,
  allowEmptyWildcard: true,
  includePatterns: [],
  excludePatterns: [],
  requiredPaths: [],
  chown: undefined,
  chmod: undefined,
};

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "tsb-digests-"));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test("a remembered digest is trusted while the file's size, times and inode are unchanged, so the file is not re-read", async () => {
  await withDir(async (dir) => {
    const context = join(dir, "context");
    const store = await openStore({ root: join(dir, "root") });
    await mkdir(context);
    await writeFile(join(context, "a.txt"), "alpha\n");
    const anHourAgo = new Date(Date.now() - 3_600_000);
    await utimes(join(context, "a.txt"), anHourAgo, anHourAgo);
    const digests = await ContextDigests.load(store, context);
    // Pretend an earlier build hashed it: a made-up digest proves the content is not read again.
    digests.remember(join(context, "a.txt"), await stat(join(context, "a.txt")), "f".repeat(64));
    await digests.save(store, context);

    const loaded = await ContextDigests.load(store, context);
    const matches = await collectCopySources(context, COPY_ALL, { kind: "context" });
    assert.equal(await sourceLines(matches, loaded), ['"/" dir 755 ', `"a.txt" file 644 ${"f".repeat(64)}`]);

    await writeFile(join(context, "a.txt"), "alpha\n"); // same bytes and size, a new mtime
    const rehashed = await sourceLines(await collectCopySources(context, COPY_ALL, { kind: "context" }), loaded);
    assert.match(rehashed[1], /^"a.txt" file 644 [0-9a-f]{64}$/);
    assert.not.match(rehashed[1], "ffffffff");
  });
});

test("a file written just now is not remembered: a second write in the same clock tick would look unchanged", async () => {
  await withDir(async (dir) => {
    const context = join(dir, "context");
    const store = await openStore({ root: join(dir, "root") });
    await mkdir(context);
    const path = join(context, "fresh.txt");
    await writeFile(path, "one\n");
    const digests = await ContextDigests.load(store, context);
    digests.remember(path, await stat(path), "f".repeat(64));
    await digests.save(store, context);
    const loaded = await ContextDigests.load(store, context);
    assert.is(loaded.lookup(path, await stat(path)), undefined);
  });
});

test.run();
