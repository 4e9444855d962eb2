import { execFileSync } from "node:child_process";
import { createReadStream } from "node:fs";
import { link, mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough, Readable } from "node:stream";
import * as fc from "fast-check";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { LayerReader, type LayerEntry } from "../../oci/layer-reader.js";
import { writeLayer, type LayerWriteEntry } from "../../oci/layer-writer.js";

async function readAll(source: Readable): Promise<{ entries: Array<Omit<LayerEntry, "body"> & { text: string }>; diffId: string }> {
  const reader = new LayerReader(source);
  const entries = [];
  for await (const entry of reader.entries()) {
    const chunks: Buffer[] = [];
    for await (const chunk of entry.body) chunks.push(chunk);
    const { body: _body, ...rest } = entry;
    entries.push({ ...rest, text: Buffer.concat(chunks).toString() });
  }
  return { entries, diffId: reader.diffId };
}

async function layerBytes(entries: LayerWriteEntry[], compression: "gzip" | "none" = "none") {
  const sink = new PassThrough();
  const chunks: Buffer[] = [];
  sink.on("data", (chunk: Buffer) => chunks.push(chunk));
  const result = await writeLayer(entries, sink, { compression, sourceDateEpoch: null });
  return { bytes: Buffer.concat(chunks), result };
}

test("entries written by the layer writer read back with long names, big ids and binary xattrs intact", async () => {
  const capability = Buffer.from([0x01, 0x00, 0x00, 0x02, 0x00, 0x20, 0x00, 0x00, 0xff, 0x0a, 0x3d, 0x20]);
  const longPath = `${"dir-".repeat(40)}/file-é`;
  const { bytes, result } = await layerBytes(
    [
      { path: "a", type: "directory", mode: 0o2755, uid: 0, gid: 0, mtime: 10 },
      { path: longPath, type: "symlink", mode: 0o777, uid: 3_000_000, gid: 7, mtime: 8 ** 11 + 5, linkpath: `../${"t".repeat(120)}` },
      { path: "a/cap", type: "fifo", mode: 0o4755, uid: 1, gid: 2, mtime: 3, xattrs: new Map([["security.capability", capability]]) },
      { path: "a/dev", type: "char", mode: 0o600, uid: 0, gid: 0, mtime: 3, devmajor: 1, devminor: 3 },
    ],
    "gzip",
  );
  const read = await readAll(Readable.from([bytes]));
  assert.is(read.diffId, result.diffId);
  assert.equal(
    read.entries.map((e) => [e.path, e.type, e.mode.toString(8), e.uid, e.gid, e.mtime, e.linkpath]),
    [
      ["a", "directory", "2755", 0, 0, 10, ""],
      [longPath, "symlink", "777", 3_000_000, 7, 8 ** 11 + 5, `../${"t".repeat(120)}`],
      ["a/cap", "fifo", "4755", 1, 2, 3, ""],
      ["a/dev", "char", "600", 0, 0, 3, ""],
    ],
  );
  assert.ok(read.entries[2].xattrs.get("security.capability")?.equals(capability), "binary xattr bytes survive");
  assert.equal([read.entries[3].devmajor, read.entries[3].devminor], [1, 3]);
});

test("GNU tar lists the writer's archives, and the reader reads GNU tar's", async () => {
  const dir = await mkdtemp(join(tmpdir(), "tsb-tar-"));
  try {
    const tree = join(dir, "tree");
    const long = "x".repeat(140);
    await mkdir(join(tree, "sub"), { recursive: true });
    await writeFile(join(tree, "sub", long), "long");
    await link(join(tree, "sub", long), join(tree, "hard"));
    await symlink(`sub/${long}`, join(tree, "soft"));
    execFileSync("tar", ["-C", tree, "-czf", join(dir, "gnu.tgz"), "--sort=name", "."]);
    const gnu = await readAll(createReadStream(join(dir, "gnu.tgz")));
    assert.equal(
      gnu.entries.map((e) => `${e.path}:${e.type}:${e.linkpath}:${e.text}`),
      [":directory::", "hard:file::long", `soft:symlink:sub/${long}:`, "sub:directory::", `sub/${long}:hardlink:hard:`],
      "the root entry ./ reads as the empty path; GNU tar's long names and hard links are understood",
    );

    const ours = join(dir, "ours.tar");
    await writeLayer(
      [
        { path: "sub", type: "directory", mode: 0o755, uid: 0, gid: 0, mtime: 1 },
        { path: `sub/${long}`, type: "file", mode: 0o644, uid: 0, gid: 0, mtime: 1, size: 4, sourcePath: join(tree, "sub", long), inode: "1:1" },
        { path: "hard", type: "file", mode: 0o644, uid: 0, gid: 0, mtime: 1, size: 4, sourcePath: join(tree, "hard"), inode: "1:1" },
      ],
      ours,
      { compression: "none", sourceDateEpoch: null },
    );
    const listing = execFileSync("tar", ["-tvf", ours], { encoding: "utf8" }).trim().split("\n");
    assert.is(listing.length, 3);
    assert.match(listing[1], `sub/${long}`);
    assert.match(listing[2], `hard link to sub/${long}`);

    // GNU tar restores the capability from our SCHILY.xattr record.
    const capped = join(dir, "capped.tar");
    const capability = Buffer.from("0100000200200000000000000000000000000000", "hex");
    await writeLayer(
      [{ path: "ping", type: "file", mode: 0o755, uid: 0, gid: 0, mtime: 1, size: 4, sourcePath: join(tree, "hard"), xattrs: new Map([["security.capability", capability]]) }],
      capped,
      { compression: "none" },
    );
    await mkdir(join(dir, "out"));
    execFileSync("tar", ["--xattrs", "--xattrs-include=*", "-C", join(dir, "out"), "-xpf", capped]);
    assert.match(execFileSync("getcap", [join(dir, "out", "ping")], { encoding: "utf8" }), "cap_net_raw=ep");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("any path, owner, time and xattr value survives a write and a read (property)", async () => {
  const segment = fc.stringMatching(/^[a-zA-Z0-9._é漢 -]{1,40}$/).filter((s) => s !== "." && s !== "..");
  await fc.assert(
    fc.asyncProperty(
      fc.array(segment, { minLength: 1, maxLength: 8 }),
      fc.nat({ max: 2 ** 40 }),
      fc.nat({ max: 2 ** 33 }),
      fc.uint8Array({ maxLength: 300 }),
      async (parts, uid, mtime, value) => {
        const path = parts.join("/");
        const { bytes } = await layerBytes([
          { path, type: "directory", mode: 0o755, uid, gid: uid, mtime, xattrs: new Map([["security.capability", Buffer.from(value)]]) },
        ]);
        const [entry] = (await readAll(Readable.from([bytes]))).entries;
        assert.is(entry.path, path);
        assert.is(entry.uid, uid);
        assert.is(entry.mtime, mtime);
        assert.ok(entry.xattrs.get("security.capability")?.equals(Buffer.from(value)));
      },
    ),
    { numRuns: 150 },
  );
});

test("the writer clamps mtimes to SOURCE_DATE_EPOCH and leaves older ones alone", async () => {
  const entries: LayerWriteEntry[] = [
    { path: "new", type: "directory", mode: 0o755, uid: 0, gid: 0, mtime: 2_000_000_000 },
    { path: "old", type: "directory", mode: 0o755, uid: 0, gid: 0, mtime: 5 },
  ];
  const sink = new PassThrough();
  const chunks: Buffer[] = [];
  sink.on("data", (chunk: Buffer) => chunks.push(chunk));
  await writeLayer(entries, sink, { compression: "gzip", sourceDateEpoch: 1000 });
  const read = await readAll(Readable.from([Buffer.concat(chunks)]));
  assert.equal(read.entries.map((e) => e.mtime), [1000, 5]);
  const gzipHeader = Buffer.concat(chunks).subarray(0, 10);
  assert.equal([...gzipHeader.subarray(4, 8)], [0, 0, 0, 0], "the gzip header has mtime 0");
  assert.is(gzipHeader[3] & 0x08, 0, "and no file name");
});

test.run();
