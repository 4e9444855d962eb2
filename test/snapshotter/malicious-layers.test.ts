import { execFileSync } from "node:child_process";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { gzipSync } from "node:zlib";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { isTsbuildError } from "../../errors.js";
import { encodeTarHeader, endOfArchive, paddingFor, type TarHeader } from "../../oci/layer-tar-header.js";
import { createSnapshotter } from "../../snapshotter/create-snapshotter.js";
import type { SnapshotterName } from "../../snapshotter/types.js";
import { cleanupRoot, makeRoot, mountsUnder } from "./tree-fixtures.js";

type Spec = Partial<TarHeader> & { path: string; body?: string };

/** A tar archive built entry by entry, with defaults for what a case does not care about. */
function tarOf(entries: Spec[]): Buffer {
  const parts: Buffer[] = [];
  for (const spec of entries) {
    const body = Buffer.from(spec.body ?? "");
    const type = spec.type ?? "file";
    parts.push(
      encodeTarHeader({
        type,
        mode: 0o644,
        uid: 0,
        gid: 0,
        mtime: 1,
        linkpath: "",
        devmajor: 0,
        devminor: 0,
        xattrs: new Map(),
        ...spec,
        size: type === "file" ? body.length : 0,
      }),
    );
    if (type === "file" && body.length > 0) parts.push(body, paddingFor(body.length));
  }
  parts.push(endOfArchive());
  return Buffer.concat(parts);
}

interface Case {
  name: string;
  layer: (outside: string) => Buffer;
  message: RegExp;
}

const cases: Case[] = [
  {
    name: "an absolute path",
    layer: (outside) => gzipSync(tarOf([{ path: `${outside}/pwned`, body: "x" }])),
    message: /entry ".*pwned" has an unsafe path: an absolute path/,
  },
  {
    name: "a .. component",
    layer: () => tarOf([{ path: "ok", body: "fine" }, { path: "a/../../../../../../../tmp/pwned", body: "x" }]),
    message: /has a "\.\." component/,
  },
  {
    name: "a write through an absolute symlink of the same layer",
    layer: (outside) => tarOf([{ path: "a", type: "symlink", linkpath: outside }, { path: "a/pwned", body: "x" }]),
    message: /entry "a\/pwned" would be written through symlink "a", which points outside the layer/,
  },
  {
    name: "a write through a relative symlink climbing out",
    layer: (outside) =>
      tarOf([{ path: "d", type: "directory", mode: 0o755 }, { path: "d/up", type: "symlink", linkpath: `../../../../../../../../../..${outside}` }, { path: "d/up/pwned", body: "x" }]),
    message: /entry "d\/up\/pwned" would be written through a symlink that leads outside/,
  },
  {
    name: "a write through a symlink of a lower layer",
    layer: () => tarOf([{ path: "lower-link/pwned", body: "x" }]),
    message: /entry "lower-link\/pwned" would be written through symlink "lower-link"/,
  },
  {
    name: "a write through a lower symlink to ../../..",
    layer: () => tarOf([{ path: "lower-up/pwned", body: "x" }]),
    message: /leads outside the layer root/,
  },
  {
    name: "a hard link through a symlink to outside",
    layer: (outside) => tarOf([{ path: "e", type: "symlink", linkpath: outside }, { path: "h", type: "hardlink", linkpath: "e/secret" }]),
    message: /entry "h" would be written through symlink "e"/,
  },
  {
    name: "a hard link to a path that does not exist",
    layer: () => tarOf([{ path: "h", type: "hardlink", linkpath: "missing/file" }]),
    message: /entry "h" is a hard link to "missing\/file", which does not exist/,
  },
  {
    name: "a hard link climbing out with ..",
    layer: () => tarOf([{ path: "h", type: "hardlink", linkpath: "../../../../etc/passwd" }]),
    message: /has a "\.\." component/,
  },
  {
    name: "an oversized PAX header",
    layer: () => {
      const big = Buffer.concat([Buffer.from("2097170 comment="), Buffer.alloc(2097152, 0x61), Buffer.from("\n")]);
      const header = Buffer.from(tarOf([{ path: "PaxHeaders.0/x", body: "" }]).subarray(0, 512));
      header[156] = "x".charCodeAt(0);
      header.write(big.length.toString(8).padStart(11, "0"), 124, 11, "ascii");
      header.fill(0x20, 148, 156);
      let sum = 0;
      for (const byte of header) sum += byte;
      header.write(sum.toString(8).padStart(6, "0") + "\0 ", 148, 8, "latin1");
      return Buffer.concat([header, big, paddingFor(big.length), tarOf([{ path: "x", body: "x" }])]);
    },
    message: /metadata record of \d+ bytes .* is larger than the limit/,
  },
  {
    name: "a truncated gzip stream",
    layer: () => {
      const whole = gzipSync(tarOf([{ path: "a", body: "a".repeat(100_000) }, { path: "b", body: "b" }]));
      return whole.subarray(0, Math.floor(whole.length / 2));
    },
    message: /gzip data is corrupt or truncated|ends in the middle/,
  },
  {
    name: "a truncated zstd stream",
    layer: () => {
      const whole = execFileSync("zstd", ["-q", "-c"], { input: tarOf([{ path: "a", body: "a".repeat(300_000) }, { path: "b", body: "b" }]) });
      return whole.subarray(0, Math.floor(whole.length / 2));
    },
    message: /zstd data is corrupt or truncated|ends in the middle/,
  },
  {
    name: "garbage",
    layer: () => Buffer.from("this is not a layer at all, just some words that go on ".repeat(40)),
    message: /not a tar archive/,
  },
  {
    name: "a corrupt second header",
    layer: () => {
      const archive = tarOf([{ path: "a", body: "a" }, { path: "b", body: "b" }]);
      archive[1024] ^= 0xff;
      return archive;
    },
    message: /header checksum mismatch at offset 1024/,
  },
];

for (const implementation of ["overlayfs", "native"] as SnapshotterName[]) {
  const test = suite(`malicious layers (${implementation})`);
  for (const item of cases) {
    test(`a layer with ${item.name} is rejected and leaves nothing behind`, async () => {
      const root = await makeRoot();
      const outside = await mkdtemp(join(tmpdir(), "tsb-outside-"));
      try {
        const snapshotter = await createSnapshotter(root, { implementation });
        const base = tarOf([
          { path: "lower-link", type: "symlink", linkpath: outside },
          { path: "lower-up", type: "symlink", linkpath: "../../.." },
          { path: "keep", body: "kept" },
        ]);
        await snapshotter.apply("base", Readable.from([base]));
        const before = (await readdir(join(root, "snapshots"))).sort();
        let caught: unknown;
        try {
          await snapshotter.apply("evil", Readable.from([item.layer(outside)]), { parent: "base" });
        } catch (error) {
          caught = error;
        }
        assert.ok(isTsbuildError(caught, "INVALID_ARCHIVE"), `expected INVALID_ARCHIVE, got ${String(caught)}`);
        assert.match((caught as Error).message, item.message);
        assert.equal(await readdir(outside), [], "nothing was written outside");
        assert.equal((await readdir(join(root, "snapshots"))).sort(), before, "the half-applied snapshot is gone");
        const keys: string[] = [];
        await snapshotter.walk((info) => {
          keys.push(info.key);
        });
        assert.equal(keys, ["base"]);
        assert.equal(await mountsUnder(root), []);
      } finally {
        await cleanupRoot(root);
        await rm(outside, { recursive: true, force: true });
      }
    });
  }
  test.run();
}
