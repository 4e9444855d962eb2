import { execFileSync, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { writeLayer, type LayerEntryIndex } from "../../oci/layer-writer.js";
import { soleBuffer, threadDigester } from "../../oci/thread-digester.js";
import { overlayChanges } from "../../snapshotter/layer-changes.js";

// Large uncompressed layers are hashed on a thread of their own (oci/thread-digester.ts),
// their chunks handed over without a copy once written.

test("the hashing thread gives the digest of the chunks in order; sole chunks are handed over, others copied", async () => {
  const sole = [1, 3].map((n) => {
    const chunk = soleBuffer(n * 1024 * 1024);
    randomBytes(n * 1024 * 1024).copy(chunk);
    return chunk;
  });
  const shared = [Buffer.from("small, from the pool"), randomBytes(700_000)];
  const chunks = [sole[0], shared[0], sole[1], shared[1]];
  const expected = createHash("sha256");
  for (const chunk of chunks) expected.update(chunk);
  const sharedBefore = shared.map((chunk) => Buffer.from(chunk));
  const total = chunks.reduce((sum, chunk) => sum + chunk.byteLength, 0);
  const digester = threadDigester();
  for (const chunk of chunks) await digester.update(chunk);
  assert.is(await digester.digest(), `sha256:${expected.digest("hex")}`);
  assert.is(digester.size, total);
  assert.equal(sole.map((chunk) => chunk.byteLength), [0, 0], "a sole chunk's memory went to the thread");
  assert.ok(shared.every((chunk, i) => chunk.equals(sharedBefore[i])), "other chunks stay as they were");
});

test("a caller that hands over more than the thread has hashed is made to wait, and memory comes back for reuse", async () => {
  const digester = threadDigester();
  const expected = createHash("sha256");
  let waits = 0;
  const pending: Promise<void>[] = [];
  for (let i = 0; i < 40; i++) {
    const chunk = soleBuffer(1024 * 1024);
    chunk.fill(i + 1);
    expected.update(chunk);
    const wait = digester.update(chunk);
    if (wait !== undefined) {
      waits++;
      pending.push(wait);
    }
  }
  assert.ok(waits > 0, "40 MiB handed over at once must hit the in-flight limit");
  await Promise.all(pending);
  assert.is(await digester.digest(), `sha256:${expected.digest("hex")}`);
  // The thread sends hashed memory back: the next buffers of that size are those.
  // Not zeroed: it still holds one of the chunks above (fresh memory would read as zeros).
  const again = soleBuffer(1024 * 1024);
  assert.ok(again[0] >= 1 && again[0] <= 40 && again.every((byte) => byte === again[0]), "a hashed buffer is reused");
});

test("a large uncompressed layer hashes the same on the thread, and a stream that keeps chunks gets them intact", async () => {
  const dir = await mkdtemp(join(tmpdir(), "tsb-thread-digest-"));
  try {
    const tree = join(dir, "tree");
    await mkdir(tree);
    // 12 MiB: above the size from which the writer hashes on the thread.
    for (let i = 0; i < 6; i++) await writeFile(join(tree, `f${i}`), randomBytes(2 * 1024 * 1024 + i));
    const toFile = await writeLayer(overlayChanges(tree), join(dir, "layer.tar"), { compression: "none", sourceDateEpoch: null });
    const bytes = await readFile(join(dir, "layer.tar"));
    assert.is(toFile.diffId, `sha256:${createHash("sha256").update(bytes).digest("hex")}`);
    assert.is(toFile.uncompressedSize, bytes.length);
    // A destination that holds on to its chunks: nothing may be taken from under it.
    const kept: Buffer[] = [];
    const collecting = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        kept.push(chunk);
        callback();
      },
    });
    const toStream = await writeLayer(overlayChanges(tree), collecting, { compression: "none", sourceDateEpoch: null });
    assert.is(toStream.diffId, toFile.diffId);
    assert.ok(Buffer.concat(kept).equals(bytes));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("the thread writes a large layer, and copies the reused ranges of an earlier one, byte for byte", async () => {
  const dir = await mkdtemp(join(tmpdir(), "tsb-thread-write-"));
  try {
    const tree = join(dir, "tree");
    await mkdir(tree);
    // 300 entries of ~40 KiB: past the size the thread takes over from, and past several of its 4 MiB stages.
    for (let i = 0; i < 300; i++) await writeFile(join(tree, `f${String(i).padStart(3, "0")}`), randomBytes(40_000 + i));
    const first = await writeLayer(overlayChanges(tree), join(dir, "first.tar"), { compression: "none", sourceDateEpoch: null, index: true });
    const firstBytes = await readFile(join(dir, "first.tar"));
    assert.is(first.diffId, `sha256:${createHash("sha256").update(firstBytes).digest("hex")}`);
    assert.is(firstBytes.length % 4096 === 0, false, "a size that is no multiple of the direct-write alignment is kept exact");
    // Files changed here and there: the rest comes from the first layer in ranges between them.
    for (const i of [0, 7, 150, 151, 299]) await writeFile(join(tree, `f${String(i).padStart(3, "0")}`), randomBytes(1000 + i));
    const entries = new Map((first.index as LayerEntryIndex[]).map((entry) => [entry.path, entry]));
    const reused = await writeLayer(overlayChanges(tree), join(dir, "reused.tar"), { compression: "none", sourceDateEpoch: null, reuse: { source: join(dir, "first.tar"), entries } });
    const full = await writeLayer(overlayChanges(tree), join(dir, "full.tar"), { compression: "none", sourceDateEpoch: null });
    assert.ok((await readFile(join(dir, "reused.tar"))).equals(await readFile(join(dir, "full.tar"))), "the same bytes as a layer written from the files");
    assert.is(reused.diffId, full.diffId);
    assert.ok((reused.reusedBytes ?? 0) > 10_000_000, "most of it was copied from the first layer");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("without memory aligned for direct I/O (address space limited), the thread writes and copies through the page cache, byte for byte", async () => {
  const dir = await mkdtemp(join(tmpdir(), "tsb-thread-buffered-"));
  try {
    const modules = (path: string) => JSON.stringify(new URL(`../../${path}`, import.meta.url).href);
    const script = `
      import { createHash, randomBytes } from "node:crypto";
      import { mkdir, readFile, writeFile } from "node:fs/promises";
      import { join } from "node:path";
      import { writeLayer } from ${modules("oci/layer-writer.js")};
      import { overlayChanges } from ${modules("snapshotter/layer-changes.js")};
      const dir = ${JSON.stringify(dir)};
      const tree = join(dir, "tree");
      await mkdir(tree);
      for (let i = 0; i < 300; i++) await writeFile(join(tree, "f" + String(i).padStart(3, "0")), randomBytes(40_000 + i));
      const options = { compression: "none", sourceDateEpoch: null };
      const first = await writeLayer(overlayChanges(tree), join(dir, "first.tar"), { ...options, index: true });
      await writeFile(join(tree, "f150"), "changed");
      const entries = new Map(first.index.map((entry) => [entry.path, entry]));
      const reused = await writeLayer(overlayChanges(tree), join(dir, "reused.tar"), { ...options, reuse: { source: join(dir, "first.tar"), entries } });
      const full = await writeLayer(overlayChanges(tree), join(dir, "full.tar"), options);
      const bytes = await readFile(join(dir, "reused.tar"));
      const ok = bytes.equals(await readFile(join(dir, "full.tar"))) && reused.diffId === "sha256:" + createHash("sha256").update(bytes).digest("hex") && reused.reusedBytes > 10_000_000;
      console.log(ok ? "same bytes" : "different");
    `;
    // A WebAssembly memory reserves gigabytes of address space: under this limit none can be made.
    const run = spawnSync("sh", ["-c", 'ulimit -v 4000000 && exec "$0" --input-type=module -e "$1"', process.execPath, script], { encoding: "utf8" });
    assert.is(run.status, 0, run.stderr);
    assert.is(run.stdout.trim(), "same bytes");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("a layer that fills the disk under the thread fails with the disk's error and leaves no file", async () => {
  const dir = await mkdtemp(join(tmpdir(), "tsb-thread-full-"));
  const small = join(dir, "small");
  await mkdir(small);
  execFileSync("mount", ["-t", "tmpfs", "-o", "size=4m", "tmpfs", small]);
  try {
    const tree = join(dir, "tree");
    await mkdir(tree);
    for (let i = 0; i < 6; i++) await writeFile(join(tree, `f${i}`), randomBytes(2 * 1024 * 1024));
    try {
      await writeLayer(overlayChanges(tree), join(small, "layer.tar"), { compression: "none", sourceDateEpoch: null });
      assert.unreachable("12 MiB do not fit in 4 MiB");
    } catch (error) {
      assert.is((error as NodeJS.ErrnoException).code, "ENOSPC");
    }
    assert.equal(await readdir(small), [], "the half-written layer is gone");
    // The thread is still there for the next layer.
    const digester = threadDigester();
    await digester.update(Buffer.from("after"));
    assert.is(await digester.digest(), `sha256:${createHash("sha256").update("after").digest("hex")}`);
  } finally {
    execFileSync("umount", [small]);
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
