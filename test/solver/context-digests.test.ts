import { mkdir, mkdtemp, rename, rm, stat, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { CONTEXT_DIGESTS_REF_KIND, ContextDigests } from "../../solver/context-digests.js";
import { digestOf } from "../../oci/digest.js";
import { selectorAction } from "../../solver/ops/context-files.js";
import { collectCopySources, sourceLines } from "../../solver/copy-sources.js";
import { openStore } from "../../store/store.js";

/** Everything in the context, as a bind mount of it reads it. */
const COPY_ALL = selectorAction("/");

/** The record id context-digests.ts gives a context directory. */
function contextRecordId(context: string): string {
  return digestOf(context).replace("sha256:", "sha256-");
}

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

test("remembered digests survive a save and a load for any file name, in the context or outside it, and nothing else is trusted", async () => {
  await withDir(async (dir) => {
    const context = join(dir, "context");
    const elsewhere = join(dir, "other-context");
    const store = await openStore({ root: join(dir, "root") });
    await mkdir(join(context, "sub"), { recursive: true });
    await mkdir(elsewhere);
    // Names a line-per-file record must not split: a tab, a newline, a leading quote, a backslash.
    const names = ["plain.txt", "sub/tab\there", "new\nline", '"quoted"', "back\\slash", "sub/ünïcode"];
    const paths = [...names.map((name) => join(context, name)), join(elsewhere, "b.txt")];
    const anHourAgo = new Date(Date.now() - 3_600_000);
    for (const path of paths) {
      await writeFile(path, path);
      await utimes(path, anHourAgo, anHourAgo);
    }
    const digests = await ContextDigests.load(store, context);
    for (const [i, path] of paths.entries()) digests.remember(path, await stat(path), String(i).repeat(64));
    await digests.save(store, context);

    const loaded = await ContextDigests.load(store, context);
    for (const [i, path] of paths.entries()) assert.is(loaded.lookup(path, await stat(path)), String(i).repeat(64), path);
    // Another context's record is its own.
    assert.is((await ContextDigests.load(store, elsewhere)).lookup(paths[0], await stat(paths[0])), undefined);
    // A changed inode (same size and times) is not trusted.
    const replaced = `${paths[0]}.new`;
    await writeFile(replaced, paths[0]);
    await utimes(replaced, anHourAgo, anHourAgo);
    await rename(replaced, paths[0]);
    assert.is(loaded.lookup(paths[0], await stat(paths[0])), undefined);
  });
});

test("a build that only hits remembered digests saves nothing; one that misses a file saves the record without it", async () => {
  await withDir(async (dir) => {
    const context = join(dir, "context");
    const store = await openStore({ root: join(dir, "root") });
    await mkdir(context);
    const anHourAgo = new Date(Date.now() - 3_600_000);
    for (const name of ["a", "b"]) {
      await writeFile(join(context, name), name);
      await utimes(join(context, name), anHourAgo, anHourAgo);
    }
    const first = await ContextDigests.load(store, context);
    const lines = await sourceLines(await collectCopySources(context, COPY_ALL, { kind: "context" }), first);
    await first.save(store, context);
    const record = await store.refs.get(CONTEXT_DIGESTS_REF_KIND, contextRecordId(context));
    assert.ok(record);

    const second = await ContextDigests.load(store, context);
    assert.equal(await sourceLines(await collectCopySources(context, COPY_ALL, { kind: "context" }), second), lines);
    await second.save(store, context);
    assert.equal((await store.refs.get(CONTEXT_DIGESTS_REF_KIND, contextRecordId(context)))?.blobs, record.blobs);

    await rm(join(context, "b"));
    const third = await ContextDigests.load(store, context);
    await sourceLines(await collectCopySources(context, COPY_ALL, { kind: "context" }), third);
    await third.save(store, context);
    const saved = await store.refs.get(CONTEXT_DIGESTS_REF_KIND, contextRecordId(context));
    assert.not.equal(saved?.blobs, record.blobs);
    const fourth = await ContextDigests.load(store, context);
    assert.is(fourth.lookup(join(context, "a"), await stat(join(context, "a"))), lines[1].slice(-64));
  });
});

test("a record in an earlier format is not read: the files are hashed again", async () => {
  await withDir(async (dir) => {
    const context = join(dir, "context");
    const store = await openStore({ root: join(dir, "root") });
    await mkdir(context);
    const path = join(context, "a.txt");
    await writeFile(path, "alpha\n");
    const anHourAgo = new Date(Date.now() - 3_600_000);
    await utimes(path, anHourAgo, anHourAgo);
    const s = await stat(path);
    const old = { context, files: { [path]: [s.size, s.mtimeMs, s.ctimeMs, s.ino, "f".repeat(64)] } };
    const blob = await store.content.write(Buffer.from(JSON.stringify(old)));
    await store.refs.put(CONTEXT_DIGESTS_REF_KIND, contextRecordId(context), { blobs: [blob.digest] });
    const loaded = await ContextDigests.load(store, context);
    assert.is(loaded.lookup(path, s), undefined);
    assert.match((await sourceLines(await collectCopySources(context, COPY_ALL, { kind: "context" }), loaded))[1], /^"a.txt" file 644 [0-9a-f]{64}$/);
  });
});

test.run();
