import { randomBytes } from "node:crypto";
import { mkdir, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { isTsbuildError } from "../../errors.js";
import { digestOf } from "../../oci/digest.js";
import { encodeTarHeader, endOfArchive, paddingFor, type TarHeader } from "../../oci/layer-tar-header.js";
import { loadImages } from "../../worker/load-images.js";
import { mountsUnder } from "../snapshotter/tree-fixtures.js";
import { withWorker } from "./worker-fixture.js";

type Spec = Partial<TarHeader> & { path: string; body?: string | Buffer };

/** A tar built entry by entry, with defaults for what a case does not care about. */
function tarOf(entries: Spec[]): Buffer {
  const parts: Buffer[] = [];
  for (const spec of entries) {
    const body = Buffer.from(spec.body ?? "");
    const type = spec.type ?? "file";
    const { body: _body, ...header } = spec;
    parts.push(
      encodeTarHeader({ type, mode: 0o644, uid: 0, gid: 0, mtime: 1, linkpath: "", devmajor: 0, devminor: 0, xattrs: new Map(), ...header, size: type === "file" ? body.length : 0 }),
    );
    if (type === "file" && body.length > 0) parts.push(body, paddingFor(body.length));
  }
  parts.push(endOfArchive());
  return Buffer.concat(parts);
}

/** A docker-archive of one image with these layers (each given as its blob and its uncompressed tar). */
function dockerArchive(layers: Array<{ blob: Buffer; tar: Buffer }>, extra: Spec[] = []): Buffer {
  const config = JSON.stringify({
    architecture: "amd64",
    os: "linux",
    rootfs: { type: "layers", diff_ids: layers.map((layer) => digestOf(layer.tar)) },
  });
  const configName = `${digestOf(config).slice(7)}.json`;
  const layerNames = layers.map((_, i) => `layer${i}/layer.tar`);
  const manifest = JSON.stringify([{ Config: configName, RepoTags: ["evil/image:latest"], Layers: layerNames }]);
  return tarOf([
    { path: "manifest.json", body: manifest },
    { path: configName, body: config },
    ...layers.map((layer, i) => ({ path: layerNames[i], body: layer.blob })),
    ...extra,
  ]);
}

const plain = (entries: Spec[]) => {
  const tar = tarOf(entries);
  return { blob: tar, tar };
};
const gzipped = (entries: Spec[]) => {
  const tar = tarOf(entries);
  return { blob: gzipSync(tar), tar };
};

interface Case {
  name: string;
  archive: (outside: string) => Buffer;
  message: RegExp;
}

const cases: Case[] = [
  { name: "a layer entry with an absolute path", archive: (outside) => dockerArchive([gzipped([{ path: `${outside}/pwned`, body: "x" }])]), message: /absolute path/ },
  { name: "a layer entry with a .. component", archive: () => dockerArchive([plain([{ path: "ok", body: "fine" }, { path: "a/../../../../../../tmp/pwned", body: "x" }])]), message: /"\.\." component/ },
  {
    name: "a layer that writes through its own symlink",
    archive: (outside) => dockerArchive([plain([{ path: "a", type: "symlink", linkpath: outside }, { path: "a/pwned", body: "x" }])]),
    message: /written through symlink "a"/,
  },
  {
    name: "a layer that writes through a symlink of the layer below (the lower snapshot is removed again)",
    archive: (outside) =>
      dockerArchive([
        gzipped([{ path: "etc", type: "directory", mode: 0o755 }, { path: "etc/file", body: "base" }, { path: "lower-link", type: "symlink", linkpath: outside }]),
        plain([{ path: "lower-link/pwned", body: "x" }]),
      ]),
    message: /written through symlink "lower-link"/,
  },
  {
    name: "a hard link to a file outside the layer",
    archive: (outside) => dockerArchive([plain([{ path: "hl", type: "hardlink", linkpath: `../../../../../../..${outside}/target` }])]),
    message: /"\.\." component|outside/,
  },
  {
    name: "a hard link to an absolute path",
    archive: () => dockerArchive([plain([{ path: "hl", type: "hardlink", linkpath: "/etc/passwd" }])]),
    message: /absolute path|does not exist|outside/,
  },
  {
    name: "a truncated gzip layer",
    archive: () => {
      const layer = gzipped([{ path: "big", body: Buffer.alloc(200_000, 7) }, { path: "after", body: "x" }]);
      return dockerArchive([{ blob: layer.blob.subarray(0, layer.blob.length - 40), tar: layer.tar }]);
    },
    message: /corrupt or truncated|truncated|unexpected end/i,
  },
  {
    name: "an oversized PAX header",
    archive: () => dockerArchive([plain([{ path: "x", body: "x", xattrs: new Map([["user.big", Buffer.alloc(2 * 1024 * 1024, 97)]]) }])]),
    message: /larger than the limit/,
  },
  {
    name: "an archive member with a .. path",
    archive: () => dockerArchive([plain([{ path: "ok", body: "fine" }])], [{ path: "../../escaped", body: "x" }]),
    message: /unsafe path/,
  },
  {
    name: "an archive member that is an absolute path",
    archive: (outside) => dockerArchive([plain([{ path: "ok", body: "fine" }])], [{ path: `${outside}/member`, body: "x" }]),
    message: /unsafe path/,
  },
  {
    name: "an archive member symlink pointing outside",
    archive: (outside) => dockerArchive([plain([{ path: "ok", body: "fine" }])], [{ path: "link", type: "symlink", linkpath: outside }]),
    message: /absolute path/,
  },
  {
    name: "a truncated archive",
    archive: () => dockerArchive([gzipped([{ path: "f", body: randomBytes(100_000) }])]).subarray(0, 20_000),
    message: /truncated/,
  },
];

for (const testCase of cases) {
  test(`load rejects ${testCase.name} and leaves nothing behind`, async () => {
    await withWorker(async (worker, dir) => {
      const outside = join(dir, "outside");
      const temp = join(dir, "tmp");
      await mkdir(outside);
      await mkdir(temp);
      const archive = join(dir, "evil.tar");
      await writeFile(archive, testCase.archive(outside));
      try {
        await loadImages(worker, archive, { tempDir: temp });
        assert.unreachable("the archive loaded");
      } catch (error) {
        assert.ok(isTsbuildError(error), `a TsbuildError, not ${String(error)}`);
        assert.ok(error.code === "INVALID_ARCHIVE" || error.code === "DIGEST_MISMATCH", error.code);
        assert.match(error.message, testCase.message);
      }
      assert.equal(await readdir(outside), [], "nothing written outside");
      assert.equal(await readdir(temp), [], "no extraction directory left");
      assert.equal(await worker.store.images.records(), [], "no image recorded");
      const keys: string[] = [];
      await (await worker.snapshotter()).walk((info) => void keys.push(info.key));
      assert.equal(keys, [], "no snapshot left");
      assert.equal(await readdir(join(worker.root, "snapshots")).then((names) => names.filter((name) => /^\d+$/.test(name))), [], "no snapshot directory left");
      assert.equal(await readdir(worker.store.paths.ingest), [], "no ingest file left");
      assert.equal(await readdir(worker.store.paths.blobs), [], "no blob stored");
      assert.equal(await readdir(join(worker.store.paths.refs, "lease")).catch(() => []), [], "no lease left");
      assert.equal(await mountsUnder(dir), []);
    });
  });
}

test.run();
