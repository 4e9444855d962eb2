import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { SMALL_FILE, TarReadAhead } from "../../oci/tar-read-ahead.js";

test("small files read in place behind a read under way fill the read-ahead, and everything comes out in order", async () => {
  const dir = await mkdtemp(join(tmpdir(), "tsb-read-ahead-"));
  try {
    const parts = new TarReadAhead();
    const expected: Buffer[] = [];
    const header = Buffer.alloc(512, 1);
    parts.push(header);
    expected.push(header);
    // A read that finishes only when the test says so.
    const slow = randomBytes(3000);
    let finish: (bytes: Buffer) => void = () => undefined;
    parts.pushRead(slow.length, () => new Promise<Buffer>((resolve) => (finish = resolve)));
    expected.push(slow);
    const given: Buffer[] = [...parts.ready()];
    let files = 0;
    while (!parts.full()) {
      const bytes = randomBytes(SMALL_FILE);
      const path = join(dir, `f${files++}`);
      await writeFile(path, bytes);
      parts.pushSmallFile(path, bytes.length, () => new Error("changed"));
      expected.push(bytes);
      given.push(...parts.ready());
      assert.ok(files < 1000, "the read-ahead fills");
    }
    assert.is(files, Math.ceil((8 * 1024 * 1024 - slow.length) / SMALL_FILE), "full once 8 MiB wait behind the read, not before");
    assert.is(given.length, 0, "nothing goes on while a read before it is under way");
    finish(slow);
    while (!parts.empty) given.push(...(await parts.next()));
    assert.ok(Buffer.concat(given).equals(Buffer.concat(expected)), "every byte, in the order queued");
    assert.ok(given.every((block) => block.length <= 512 * 1024 + SMALL_FILE), "in blocks of about 512 KiB");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("a failed read is thrown where its turn comes, not as an unhandled rejection", async () => {
  const parts = new TarReadAhead();
  parts.push(Buffer.alloc(10));
  parts.pushRead(5, () => Promise.reject(new Error("disk gone")));
  parts.ready();
  try {
    while (!parts.empty) await parts.next();
    assert.unreachable("the read failed");
  } catch (error) {
    assert.match((error as Error).message, "disk gone");
  }
  await parts.settle();
});

test.run();
