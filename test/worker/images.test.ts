import { createReadStream } from "node:fs";
import { chmod, mkdir, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { readFileSync } from "node:fs";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { isTsbuildError } from "../../errors.js";
import type { Worker } from "../../worker/worker.js";
import { commitImage } from "../../worker/commit-image.js";
import { diskUsage } from "../../worker/disk-usage.js";
import { fsck } from "../../worker/fsck.js";
import { imageHistory } from "../../worker/image-history.js";
import { importRootfs } from "../../worker/import-rootfs.js";
import { inspectImage } from "../../worker/inspect-image.js";
import { listImages } from "../../worker/list-images.js";
import { loadImages } from "../../worker/load-images.js";
import { pruneImages } from "../../worker/prune-images.js";
import { removeImages } from "../../worker/remove-images.js";
import { resolveImage } from "../../worker/resolve-image.js";
import { saveImages } from "../../worker/save-images.js";
import { tagImage } from "../../worker/tag-image.js";
import { unpackImage } from "../../worker/unpack-image.js";
import { openWorker } from "../../worker/worker.js";
import { backdateBlob } from "../store/backdate-blob.js";
import { contentSize } from "../helpers/content-size.js";
import { busyboxTar, shIn, withWorker } from "./worker-fixture.js";

async function snapshotKeys(worker: Worker): Promise<string[]> {
  const keys: string[] = [];
  await (await worker.snapshotter()).walk((info) => void keys.push(info.key));
  return keys;
}

/** Commits `script`'s changes on top of `parent` as `name`. */
async function commitOn(worker: Worker, dir: string, options: { parent: string; name: string; script: string }) {
  const snapshotter = await worker.snapshotter();
  const { top } = await unpackImage(worker, options.parent);
  const key = `c-${options.name.replace(/[^a-z0-9]/g, "-")}`;
  await snapshotter.prepare(key, top);
  const target = join(dir, key);
  await mkdir(target);
  await snapshotter.mount(key, target);
  try {
    shIn(target, options.script);
  } finally {
    await snapshotter.unmount(target);
  }
  const result = await commitImage(worker, { parentImage: options.parent, activeSnapshotKey: key, history: { createdBy: `/bin/sh -c ${options.script}` }, name: options.name });
  await snapshotter.remove(key);
  return result;
}

test("import makes a one-layer image whose size is its files' (as docker counts it) and whose layer is unpacked", async () => {
  await withWorker(async (worker, dir) => {
    const tar = await busyboxTar(dir);
    const result = await importRootfs(worker, createReadStream(tar), { name: "imp/busybox:1", label: "-" });
    const rows = await listImages(worker);
    assert.equal(rows.map((row) => [row.repository, row.tag, row.shortId]), [["imp/busybox", "1", result.id.slice(7, 19)]]);
    assert.is(rows[0].size, await contentSize(join(dir, "rootfs")));
    assert.ok(rows[0].size < readFileSync(tar).length, "tar headers and padding are not content");
    // Kept uncompressed, as a build's layers are: push and save compress it.
    assert.is(result.layer.mediaType, "application/vnd.oci.image.layer.v1.tar");
    assert.is(result.layer.digest, result.diffId);
    assert.equal(await snapshotKeys(worker), [result.diffId]);
    const history = await imageHistory(worker, "imp/busybox:1");
    assert.equal(history.map((row) => [row.id, row.comment, row.size]), [[result.id, "Imported from -", rows[0].size]]);
  });
});

test("import of a gzip stream without a name leaves a dangling image, and garbage is refused leaving nothing", async () => {
  await withWorker(async (worker, dir) => {
    const gz = join(dir, "rootfs.tar.gz");
    await writeFile(gz, gzipSync(readFileSync(await busyboxTar(dir))));
    const result = await importRootfs(worker, gz, { unpack: false });
    assert.equal((await listImages(worker)).map((row) => [row.repository, row.tag, row.id]), [["<none>", "<none>", result.id]]);
    assert.equal(await snapshotKeys(worker), [], "not unpacked when asked not to");

    const junk = join(dir, "junk.tar");
    await writeFile(junk, "this is not a tar archive, not even close".repeat(40));
    const blobsBefore = (await readdir(worker.store.paths.blobs)).sort();
    for (const unpack of [true, false]) {
      try {
        await importRootfs(worker, junk, { name: "junk:1", unpack });
        assert.unreachable("junk imported");
      } catch (error) {
        assert.ok(isTsbuildError(error, "INVALID_ARCHIVE"), String(error));
      }
    }
    assert.equal((await readdir(worker.store.paths.blobs)).sort(), blobsBefore);
    assert.is((await worker.store.images.records()).length, 1);
    assert.equal(await snapshotKeys(worker), []);
  });
});

test("rmi untags first, then deletes the image, its blobs and the unpacked layers no other image shares", async () => {
  await withWorker(async (worker, dir) => {
    const base = await importRootfs(worker, await busyboxTar(dir), { name: "base:1" });
    const child = await commitOn(worker, dir, { parent: "base:1", name: "child:1", script: "echo hi > /hello" });
    await unpackImage(worker, "child:1");
    await tagImage(worker, { source: "child:1", target: "child:alias" });
    assert.equal((await snapshotKeys(worker)).sort(), [base.diffId, child.chainId].sort());

    let removed = await removeImages(worker, ["child:alias"]);
    assert.equal(removed.results, [{ reference: "child:alias", untagged: ["child:alias"], deleted: [], removedSnapshots: [] }]);

    removed = await removeImages(worker, ["child:1", "no-such:image"]);
    assert.not.ok(removed.ok);
    assert.equal(removed.results[0], { reference: "child:1", untagged: ["child:1"], deleted: [child.id], removedSnapshots: [child.chainId] });
    const failure = removed.results[1];
    assert.ok("error" in failure && failure.error.code === "NOT_FOUND");
    assert.equal(await snapshotKeys(worker), [base.diffId], "the base layer stays: base:1 holds it");
    assert.not.ok(await worker.store.content.has(child.layer.digest), "the child's layer blob is collected at once");

    await removeImages(worker, ["base:1"]);
    assert.equal(await snapshotKeys(worker), []);
    assert.equal(await readdir(worker.store.paths.blobs), []);
    assert.equal(await readdir(join(worker.store.paths.refs, "layer-size")), [], "layer size records go with the layers");
  });
});

test("a build's lease protects the blobs it wrote from rmi, which collects with no grace period", async () => {
  await withWorker(async (worker, dir) => {
    await importRootfs(worker, await busyboxTar(dir), { name: "victim:1", unpack: false });
    const stray = await worker.store.content.write("written before any lease and held by nothing");
    await backdateBlob(worker.store.content, stray.digest);
    const lease = await worker.store.refs.acquireLease();
    const building = await worker.store.content.write("a layer a build is still writing");
    await removeImages(worker, ["victim:1"]);
    assert.not.ok(await worker.store.content.has(stray.digest), "unreferenced blobs go at once");
    assert.ok(await worker.store.content.has(building.digest), "the lease keeps the build's blob");
    await lease.release();
    await pruneImages(worker);
    assert.not.ok(await worker.store.content.has(building.digest), "once released it is collected");
  });
});

test("commit refuses a snapshot that is not on the parent image's top layer", async () => {
  await withWorker(async (worker, dir) => {
    await importRootfs(worker, await busyboxTar(dir), { name: "base:1" });
    await (await worker.snapshotter()).prepare("loose");
    try {
      await commitImage(worker, { parentImage: "base:1", activeSnapshotKey: "loose" });
      assert.unreachable("committed");
    } catch (error) {
      assert.ok(isTsbuildError(error, "CONFLICT"));
      assert.match(error.message, /Cannot commit snapshot "loose": it is based on "nothing", not on the top layer "sha256:/);
    }
  });
});

test("inspect and history describe a committed image as docker does", async () => {
  await withWorker(async (worker, dir) => {
    const base = await importRootfs(worker, await busyboxTar(dir), { name: "base:1", config: { Cmd: ["/bin/sh"], Env: ["PATH=/bin"] } });
    const child = await commitOn(worker, dir, { parent: "base:1", name: "registry.example.com:5000/team/app:2", script: "echo hi > /hello" });
    const inspect = await inspectImage(worker, "registry.example.com:5000/team/app:2");
    assert.is(inspect.Id, child.id);
    assert.equal(inspect.RepoTags, ["registry.example.com:5000/team/app:2"]);
    assert.equal(inspect.RepoDigests, [`registry.example.com:5000/team/app@${child.manifestDigest}`]);
    assert.equal(inspect.RootFS, { Type: "layers", Layers: [base.diffId, child.diffId] });
    assert.equal(inspect.Config, { Cmd: ["/bin/sh"], Env: ["PATH=/bin"] });
    assert.is(inspect.Os, "linux");
    const baseSize = await contentSize(join(dir, "rootfs"));
    assert.is(inspect.Size, baseSize + "hi\n".length);

    const history = await imageHistory(worker, child.id.slice(7, 19));
    assert.equal(
      history.map((row) => [row.id, row.createdBy, row.size]),
      [
        [child.id, "/bin/sh -c echo hi > /hello", "hi\n".length],
        [undefined, "", baseSize],
      ],
    );
  });
});

test("prune removes dangling images with their layers, prune all the named ones too; fsck finds a corrupt blob", async () => {
  await withWorker(async (worker, dir) => {
    const tar = await busyboxTar(dir);
    const named = await importRootfs(worker, tar, { name: "named:1" });
    const dangling = await importRootfs(worker, tar, { message: "another" });
    assert.is(dangling.diffId, named.diffId);
    let result = await pruneImages(worker);
    assert.equal(result.deleted, [dangling.id]);
    assert.equal(result.removedSnapshots, [], "the layer is shared with named:1");
    assert.equal((await listImages(worker)).map((row) => row.repository), ["named"]);

    const usage = await diskUsage(worker);
    assert.equal(usage[0], { type: "Images", total: 1, active: 0, size: usage[0].size, reclaimable: usage[0].size });

    const blob = worker.store.content.path(named.layer.digest);
    await chmod(blob, 0o644);
    await writeFile(blob, "corrupted");
    const report = await fsck(worker);
    assert.not.ok(report.ok);
    assert.equal(report.problems, [`blob ${named.layer.digest}: content has digest sha256:${(await import("node:crypto")).createHash("sha256").update("corrupted").digest("hex")}`]);

    result = await pruneImages(worker, { all: true });
    assert.equal(result.deleted, [named.id]);
    assert.equal(result.removedSnapshots, [named.diffId]);
    assert.ok(result.reclaimedBytes > 0);
    assert.equal(await readdir(worker.store.paths.blobs), []);
    assert.ok((await fsck(worker)).ok);
  });
});

test("loading an archive twice is harmless, and save by id writes no name", async () => {
  await withWorker(async (worker, dir) => {
    const imported = await importRootfs(worker, await busyboxTar(dir), { name: "twice:1" });
    const named = join(dir, "named.tar");
    const byId = join(dir, "by-id.tar");
    await saveImages(worker, ["twice:1"], { output: named });
    const saved = await saveImages(worker, [imported.id.slice(7, 19)], { output: byId });
    assert.equal(saved.images[0].names, []);
    const first = await loadImages(worker, named);
    const second = await loadImages(worker, named);
    assert.equal(first, second);
    assert.equal((await loadImages(worker, byId)).images[0].names, []);
    assert.equal(await snapshotKeys(worker), [imported.diffId]);
    assert.is((await listImages(worker)).length, 1, "the same manifest, listed once");
  });
});

test("load of a name held by another image renames the old one, as docker says", async () => {
  await withWorker(async (worker, dir) => {
    const tar = await busyboxTar(dir);
    const first = await importRootfs(worker, tar, { name: "moving:1", message: "first" });
    const archive = join(dir, "second.tar");
    const other = await openWorker({ root: join(dir, "other"), snapshotter: "overlayfs" });
    const second = await importRootfs(other, tar, { name: "moving:1", message: "second" });
    await saveImages(other, ["moving:1"], { output: archive });
    const loaded = await loadImages(worker, archive);
    assert.equal(loaded.images[0].renamed, [{ name: "moving:1", previousId: first.id }]);
    assert.equal(
      (await listImages(worker)).map((row) => [row.repository, row.tag, row.id]).sort(),
      [["<none>", "<none>", first.id], ["moving", "1", second.id]].sort(),
    );
  });
});

test("a multi-platform OCI archive loads whole: its index under its name, every platform in it", async () => {
  await withWorker(async (worker) => {
    const { encodeTarHeader, endOfArchive, paddingFor } = await import("../../oci/layer-tar-header.js");
    const { digestOf } = await import("../../oci/digest.js");
    const { hostPlatform } = await import("../../worker/resolve-image.js");
    const members = new Map<string, Buffer>();
    const blob = (data: Buffer | string): { digest: `sha256:${string}`; size: number } => {
      const bytes = Buffer.from(data);
      const digest = digestOf(bytes);
      members.set(`blobs/sha256/${digest.slice(7)}`, bytes);
      return { digest, size: bytes.length };
    };
    const header = { mode: 0o644, uid: 0, gid: 0, mtime: 0, linkpath: "", devmajor: 0, devminor: 0, xattrs: new Map<string, Buffer>() };
    const manifests = [];
    for (const architecture of ["riscv64", hostPlatform().architecture, "s390x"]) {
      const body = Buffer.from(architecture);
      const layerTar = Buffer.concat([encodeTarHeader({ ...header, type: "file", path: "arch", size: body.length }), body, paddingFor(body.length), endOfArchive()]);
      const layer = blob(gzipSync(layerTar));
      const config = blob(JSON.stringify({ architecture, os: "linux", rootfs: { type: "layers", diff_ids: [digestOf(layerTar)] } }));
      const manifest = blob(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: "application/vnd.oci.image.manifest.v1+json",
          config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config },
          layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", ...layer }],
        }),
      );
      manifests.push({ mediaType: "application/vnd.oci.image.manifest.v1+json", ...manifest, platform: { architecture, os: "linux" }, config: config.digest });
    }
    const index = blob(JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests: manifests.map(({ config: _c, ...entry }) => entry) }));
    members.set("oci-layout", Buffer.from('{"imageLayoutVersion":"1.0.0"}'));
    members.set(
      "index.json",
      Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          manifests: [{ mediaType: "application/vnd.oci.image.index.v1+json", ...index, annotations: { "io.containerd.image.name": "docker.io/library/multi:1", "org.opencontainers.image.ref.name": "1" } }],
        }),
      ),
    );
    const parts: Buffer[] = [];
    for (const [path, data] of members) parts.push(encodeTarHeader({ ...header, type: "file", path, size: data.length }), data, paddingFor(data.length));
    parts.push(endOfArchive());
    const archive = join(worker.root, "..", "multi.tar");
    await writeFile(archive, Buffer.concat(parts));

    const loaded = await loadImages(worker, archive);
    assert.equal(loaded.images.map((image) => [image.id, image.names]), [[index.digest, ["multi:1"]]]);
    const rows = await listImages(worker);
    assert.equal(rows.map((row) => [row.repository, row.id, row.platforms]), [["multi", index.digest, ["linux/" + hostPlatform().architecture, "linux/riscv64", "linux/s390x"]]]);
    assert.is((await resolveImage(worker.store, "multi:1")).configDigest, manifests[1].config, "this host's platform by default");
    assert.is((await snapshotKeys(worker)).length, 3, "every platform's layer is unpacked (and so checked)");
  });
});

test("a worker opened without naming the snapshotter keeps the implementation the root already uses", async () => {
  await withWorker(async (worker, dir) => {
    await importRootfs(worker, await busyboxTar(dir), { name: "kept:1" });
    const again = await openWorker({ root: worker.root });
    const snapshotter = await again.snapshotter();
    assert.is(snapshotter.name, "overlayfs");
    assert.is(snapshotter.reason, "forced by option", "no probe was needed");

    const native = await openWorker({ root: join(dir, "native"), snapshotter: "native" });
    await importRootfs(native, await busyboxTar(dir), { name: "kept:1" });
    assert.is((await (await openWorker({ root: native.root })).snapshotter()).name, "native");
    try {
      await (await openWorker({ root: native.root, snapshotter: "overlayfs" })).snapshotter();
      assert.unreachable("overlayfs was used on a native root");
    } catch (error) {
      assert.ok(isTsbuildError(error, "CONFLICT"));
      assert.match(error.message, /Cannot use the overlayfs snapshotter on root ".*": its snapshots were made by native/);
    }
  });
});

test.run();
