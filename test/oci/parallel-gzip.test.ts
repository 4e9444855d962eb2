import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { gunzipSync, gzipSync } from "node:zlib";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { crc32, crc32Combine } from "../../oci/crc32.js";
import { DeflatePool } from "../../oci/deflate-pool.js";
import { createParallelGzip, GZIP_BLOCK_SIZE } from "../../oci/parallel-gzip.js";

/** Compresses `chunks` (as a stream of those chunks) with a pool of `threads`. */
async function gzip(chunks: Buffer[], threads: number): Promise<Buffer> {
  const out: Buffer[] = [];
  await pipeline(Readable.from(chunks), createParallelGzip({ pool: new DeflatePool(threads) }), async (source: AsyncIterable<Buffer>) => {
    for await (const chunk of source) out.push(chunk);
  });
  return Buffer.concat(out);
}

/** Text-like bytes that compress (so blocks refer back across their boundary), with noise mixed in. */
function sample(size: number): Buffer {
  const words = ["layer", "tar", "gzip", "block", "usr/lib/", "\0\0\0\0", "etc/passwd", "0000644"];
  const parts: Buffer[] = [];
  let length = 0;
  for (let i = 0; length < size; i++) {
    const part = i % 97 === 0 ? randomBytes(300) : Buffer.from(words[(i * 7919) % words.length]);
    parts.push(part);
    length += part.length;
  }
  return Buffer.concat(parts).subarray(0, size);
}

function cut(data: Buffer, size: number): Buffer[] {
  const chunks: Buffer[] = [];
  for (let i = 0; i < data.length; i += size) chunks.push(data.subarray(i, i + size));
  return chunks.length === 0 ? [Buffer.alloc(0)] : chunks;
}

test("crc32Combine joins the CRCs of two parts into the CRC of the whole", () => {
  const data = randomBytes(300_000);
  for (const at of [0, 1, 4096, 299_999, 300_000]) {
    const a = data.subarray(0, at);
    const b = data.subarray(at);
    assert.is(crc32Combine(crc32(a), crc32(b), b.length), crc32(data), `split at ${at}`);
  }
  assert.is(crc32(Buffer.from("123456789")), 0xcbf43926, "the check value of CRC-32");
});

test("parallel gzip gives the same bytes on 1 or 4 threads, whatever the input's chunking, and gunzip restores the input", async () => {
  for (const size of [0, 5, GZIP_BLOCK_SIZE - 1, GZIP_BLOCK_SIZE, GZIP_BLOCK_SIZE + 1, 3 * GZIP_BLOCK_SIZE, 3 * GZIP_BLOCK_SIZE + 12_345]) {
    const data = sample(size);
    const one = await gzip(cut(data, 777), 1);
    const four = await gzip([data], 4);
    assert.ok(one.equals(four), `${size} bytes: same output on 1 and 4 threads`);
    assert.ok(gunzipSync(one).equals(data), `${size} bytes round-trip`);
    assert.equal([...one.subarray(0, 10)], [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3], "header: deflate, no name, mtime 0, unix");
    // A layer of one block is byte for byte what one-stream gzip makes, so older digests hold.
    if (size <= GZIP_BLOCK_SIZE) assert.ok(one.equals(gzipSync(data, { level: 6 })), `${size} bytes: as one-stream gzip`);
    // Blocks reach back into the one before: the ratio stays that of one stream.
    if (size > GZIP_BLOCK_SIZE) assert.ok(one.length < gzipSync(data, { level: 6 }).length * 1.01, `${size} bytes: ratio kept`);
  }
});

test.run();
