import { spawnSync } from "node:child_process";
import { writeSync } from "node:fs";
import { chmod, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { isTsbuildError } from "../../errors.js";
import { digestOf, type Digest } from "../../oci/digest.js";
import { openStore } from "../../store/store.js";
import { assertRejects } from "./assert-rejects.js";
import { killChild, moduleUrl, runScript, startScript, waitForOutput } from "./child-process.js";
import { withTempDir } from "./temp-dir.js";

const storeModule = moduleUrl("store/store.js", import.meta.url);

test("a blob written from a Buffer, a string or a stream reads back under its sha256 digest", async () => {
  await withTempDir(async (root) => {
    const store = await openStore({ root });
    const fromBuffer = await store.content.write(Buffer.from("hello"));
    assert.is(fromBuffer.digest, digestOf("hello"));
    assert.is(fromBuffer.size, 5);
    assert.is((await store.content.write("hello")).digest, fromBuffer.digest);
    const fromStream = await store.content.write(Readable.from([Buffer.from("hel"), Buffer.from("lo world")]));
    assert.is(fromStream.digest, digestOf("hello world"));
    assert.is((await store.content.read(fromStream.digest)).toString(), "hello world");
    assert.is(await readFile(join(root, "content", "blobs", "sha256", fromStream.digest.slice(7)), "utf8"), "hello world");
    const streamed: Buffer[] = [];
    for await (const chunk of await store.content.openStream(fromBuffer.digest)) streamed.push(chunk as Buffer);
    assert.is(Buffer.concat(streamed).toString(), "hello");
    assert.equal(await readdir(store.paths.ingest), [], "no ingest file is left");
  });
});

test("an ingest written through its file, not its stream, commits with the size the file has", async () => {
  await withTempDir(async (root) => {
    const store = await openStore({ root });
    const bytes = Buffer.from("written at a position by someone else than the stream\n");
    const ingest = await store.content.ingest();
    writeSync(ingest.file.fd, bytes, 0, bytes.length, 0);
    const blob = await ingest.commit({ digest: digestOf(bytes), size: bytes.length });
    assert.is(blob.size, bytes.length);
    assert.ok((await store.content.read(digestOf(bytes))).equals(bytes));
    // A size that is not the file's is refused, and the ingest file goes.
    const short = await store.content.ingest();
    writeSync(short.file.fd, bytes, 0, 10, 0);
    await assertRejects(short.commit({ digest: digestOf(bytes), size: bytes.length }), (error) => isTsbuildError(error) && error.code === "INTERNAL");
    await short.abort();
    assert.equal(await readdir(store.paths.ingest), []);
  });
});

test("a digest mismatch is DIGEST_MISMATCH naming both digests, and leaves neither blob nor ingest file", async () => {
  await withTempDir(async (root) => {
    const store = await openStore({ root });
    const claimed = digestOf("expected content");
    const error = await assertRejects(store.content.write("other content", { digest: claimed }), (e) => isTsbuildError(e, "DIGEST_MISMATCH"));
    assert.is((error as Error).message, `Blob digest mismatch: expected "${claimed}", got "${digestOf("other content")}"`);
    assert.is(await store.content.has(claimed), false);
    assert.is(await store.content.has(digestOf("other content")), false);
    assert.equal(await readdir(store.paths.ingest), []);
  });
});

test("a size mismatch is DIGEST_MISMATCH too, also for a stream longer than announced", async () => {
  await withTempDir(async (root) => {
    const store = await openStore({ root });
    const digest = digestOf("12345");
    const short = await assertRejects(store.content.write("1234", { digest, size: 5 }), (e) => isTsbuildError(e, "DIGEST_MISMATCH"));
    assert.match((short as Error).message, /expected 5 bytes, got 4$/);
    const long = await assertRejects(
      store.content.write(Readable.from([Buffer.from("123"), Buffer.from("456"), Buffer.from("789")]), { size: 5 }),
      (e) => isTsbuildError(e, "DIGEST_MISMATCH"),
    );
    assert.match((long as Error).message, /expected 5 bytes, got at least 6$/);
    assert.equal(await readdir(store.paths.ingest), []);
    assert.equal(await readdir(store.paths.blobs), []);
  });
});

test("a source stream that fails leaves no ingest file and no blob", async () => {
  await withTempDir(async (root) => {
    const store = await openStore({ root });
    async function* failing() {
      yield Buffer.from("some bytes");
      throw new Error("connection reset");
    }
    await assertRejects(store.content.write(failing()), (e) => (e as Error).message === "connection reset");
    assert.equal(await readdir(store.paths.ingest), []);
    assert.equal(await readdir(store.paths.blobs), []);
  });
});

test("stat, has, walk and delete see exactly the blobs written", async () => {
  await withTempDir(async (root) => {
    const store = await openStore({ root });
    const a = await store.content.write("a");
    const b = await store.content.write("bb");
    await writeFile(join(store.paths.blobs, ".tmp-not-a-blob"), "x");
    const walked = [];
    for await (const blob of store.content.walk()) walked.push([blob.digest, blob.size]);
    assert.equal(walked.sort(), [[a.digest, 1], [b.digest, 2]].sort());
    assert.is((await store.content.stat(b.digest))?.size, 2);
    assert.is(await store.content.delete(a.digest), true);
    assert.is(await store.content.delete(a.digest), false);
    assert.is(await store.content.has(a.digest), false);
    assert.is(await store.content.stat(a.digest), undefined);
    await assertRejects(store.content.read(a.digest), (e) => isTsbuildError(e, "NOT_FOUND") && (e as Error).message === `Blob "${a.digest}" is not in the content store`);
  });
});

test("verify notices a blob whose bytes changed on disk", async () => {
  await withTempDir(async (root) => {
    const store = await openStore({ root });
    const blob = await store.content.write("original");
    assert.is((await store.content.verify(blob.digest)).ok, true);
    const path = store.content.path(blob.digest);
    await chmod(path, 0o644);
    await writeFile(path, "tampered");
    const result = await store.content.verify(blob.digest);
    assert.is(result.ok, false);
    assert.is(result.actual, digestOf("tampered"));
  });
});

test("several processes writing the same blob at once all succeed and leave one whole blob", async () => {
  await withTempDir(async (root) => {
    await openStore({ root });
    const chunk = "0123456789abcdef".repeat(4096); // 64 KiB
    const expected = digestOf(chunk.repeat(32));
    const script = `
      import { openStore } from ${JSON.stringify(storeModule)};
      import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
      const store = await openStore({ root: ${JSON.stringify(root)} });
      const chunks = Array.from({ length: 32 }, () => Buffer.from(${JSON.stringify(chunk)}));
      const info = await store.content.write(Readable.from(chunks), { digest: ${JSON.stringify(expected)}, size: ${chunk.length * 32} });
      console.log(info.digest);`;
    const outputs = await Promise.all(Array.from({ length: 6 }, () => runScript(script)));
    for (const output of outputs) assert.is(output.trim(), expected);
    const store = await openStore({ root });
    assert.equal(await readdir(store.paths.blobs), [expected.slice(7)]);
    assert.is((await store.content.verify(expected as Digest)).ok, true);
    assert.equal(await readdir(store.paths.ingest), []);
  });
});

test("a writer killed mid-write leaves a root that opens cleanly, without the partial blob", async () => {
  await withTempDir(async (root) => {
    await openStore({ root });
    const writer = startScript(`
      import { openStore } from ${JSON.stringify(storeModule)};
      const store = await openStore({ root: ${JSON.stringify(root)} });
      async function* endless() {
        for (let i = 0; ; i++) {
          yield Buffer.alloc(65536, i);
          if (i === 3) console.log("writing");
          await new Promise((r) => setTimeout(r, 5));
        }
      }
      await store.content.write(endless());`);
    try {
      await waitForOutput(writer, "writing");
    } finally {
      await killChild(writer);
    }
    const store0 = (await readdir(join(root, "content", "ingest")));
    assert.is(store0.length, 1, "the killed writer left its ingest file");
    const store = await openStore({ root });
    assert.equal(await readdir(store.paths.ingest), [], "opening removed the dead writer's ingest file");
    assert.equal(await readdir(store.paths.blobs), [], "no partial blob was ever visible");
    assert.is((await store.fsck()).ok, true);
  });
});

test("cleanIngest keeps a live writer's file and removes a dead one's", async () => {
  await withTempDir(async (root) => {
    const store = await openStore({ root });
    const dead = spawnSync("true").pid!;
    await writeFile(join(store.paths.ingest, `${dead}-12345-aaaaaaaaaaaa`), "partial");
    const live = startScript(`console.log("up"); setInterval(() => {}, 1000);`);
    try {
      await waitForOutput(live, "up");
      const start = (await readFile(`/proc/${live.child.pid}/stat`, "utf8")).split(") ")[1].split(" ")[19];
      await writeFile(join(store.paths.ingest, `${live.child.pid}-${start}-bbbbbbbbbbbb`), "in progress");
      assert.equal(await store.content.cleanIngest(), [`${dead}-12345-aaaaaaaaaaaa`]);
      assert.equal(await readdir(store.paths.ingest), [`${live.child.pid}-${start}-bbbbbbbbbbbb`]);
      assert.equal(await store.content.cleanIngest({ maxIdleMs: 0 }), [`${live.child.pid}-${start}-bbbbbbbbbbbb`], "an idle file goes after maxIdleMs");
    } finally {
      await killChild(live);
    }
  });
});

test("an ingest takes the digest its writer computed, without hashing again, and an aborted one leaves nothing", async () => {
  await withTempDir(async (root) => {
    const store = await openStore({ root });
    const ingest = await store.content.ingest();
    await pipeline(Readable.from([Buffer.from("layer "), Buffer.from("bytes")]), ingest.stream);
    const info = await ingest.commit({ digest: digestOf("layer bytes"), size: 11 });
    assert.equal([info.digest, info.size], [digestOf("layer bytes"), 11]);
    assert.is((await store.content.read(info.digest)).toString(), "layer bytes");

    // The store trusts the writer's digest (it checks only the size): that is the point.
    const trusted = await store.content.ingest();
    await pipeline(Readable.from([Buffer.from("abc")]), trusted.stream);
    const named = `sha256:${"1".repeat(64)}` as Digest;
    await assertRejects(trusted.commit({ digest: named, size: 4 }), (e) => isTsbuildError(e, "INTERNAL"));
    await trusted.abort();
    assert.is(await store.content.has(named), false);

    const dropped = await store.content.ingest();
    dropped.stream.write(Buffer.from("half"));
    await dropped.abort();
    assert.equal(await readdir(store.paths.ingest), [], "no ingest file is left");
  });
});

test.run();
