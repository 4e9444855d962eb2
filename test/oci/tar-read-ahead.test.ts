import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { SMALL_FILE, TarReadAhead, type TarPiece } from "../../oci/tar-read-ahead.js";

/** The pieces as bytes: every one must be bytes (nothing here queued a range to copy). */
function bytesOf(pieces: TarPiece[]): Buffer {
  assert.ok(pieces.every((piece) => Buffer.isBuffer(piece)), "only bytes");
  return Buffer.concat(pieces as Buffer[]);
}

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
    const given: TarPiece[] = [...parts.ready()];
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
    assert.ok(bytesOf(given).equals(Buffer.concat(expected)), "every byte, in the order queued");
    assert.ok((given as Buffer[]).every((block) => block.length <= 512 * 1024 + SMALL_FILE), "in blocks of about 512 KiB");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("a range to copy goes on in its place: after the bytes and reads queued before it, before those after", async () => {
  const parts = new TarReadAhead();
  parts.push(Buffer.from("header one"));
  let finish: (bytes: Buffer) => void = () => undefined;
  parts.pushRead(4, () => new Promise<Buffer>((resolve) => (finish = resolve)));
  const range = { source: "/earlier/layer.tar", position: 1024, length: 4096 };
  parts.pushCopy(range);
  parts.push(Buffer.from("header two"));
  const given = [...parts.ready()];
  assert.equal(given, [], "the read before it is under way");
  finish(Buffer.from("data"));
  while (!parts.empty) given.push(...(await parts.next()));
  assert.equal(given, [Buffer.from("header onedata"), range, Buffer.from("header two")]);
  // With nothing before it, a range goes on at once, after the block being filled.
  parts.push(Buffer.from("tail"));
  parts.pushCopy(range);
  assert.equal(parts.ready(), [Buffer.from("tail"), range]);
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
