import { link, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { writeFileAtomic } from "../../store/atomic-file.js";
import { SnapshotMetadata } from "../../snapshotter/snapshot-metadata.js";
import { withTempDir } from "./temp-dir.js";

/** Waits (on events, up to a minute) until `done` holds. */
async function eventually(done: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 6000 && !(await done()); i++) await new Promise((resolve) => setTimeout(resolve, 10));
}

test("a record rewritten without fsync replaces the old one whole, and the old one set aside goes", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "record.json");
    await writeFileAtomic(path, "first", { durable: false });
    const reader = join(dir, "reader");
    await link(path, reader); // a reader holding the old file sees it unchanged
    await writeFileAtomic(path, "second", { durable: false });
    assert.is(await readFile(path, "utf8"), "second");
    assert.is(await readFile(reader, "utf8"), "first");
    await eventually(async () => (await readdir(dir)).every((name) => !name.startsWith(".tmp-")));
    assert.equal((await readdir(dir)).sort(), ["reader", "record.json"], "the set-aside copy of the old record is removed");
  });
});

test("a mount note set aside on its way out is neither listed nor left behind", async () => {
  await withTempDir(async (dir) => {
    const metadata = new SnapshotMetadata(dir);
    await metadata.addMount("/tmp/a", "key-a");
    await metadata.addMount("/tmp/b", "key-b");
    await metadata.removeMount("/tmp/a");
    assert.equal([...(await metadata.listMounts())], [["/tmp/b", "key-b"]]);
    // What a process killed between the rename and the unlink leaves: the next listing removes it.
    const mounts = join(dir, "mounts");
    const [note] = await readdir(mounts);
    await writeFile(join(mounts, `${note}.gone-abcdefabcdef`), JSON.stringify({ target: "/tmp/c", key: "key-c" }));
    assert.equal([...(await metadata.listMounts())], [["/tmp/b", "key-b"]]);
    await eventually(async () => (await readdir(mounts)).length === 1);
    assert.equal(await readdir(mounts), [note]);
  });
});

test.run();
