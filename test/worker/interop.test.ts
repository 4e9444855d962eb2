import { execFileSync } from "node:child_process";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { commitImage } from "../../worker/commit-image.js";
import { loadImages } from "../../worker/load-images.js";
import { resolveImage } from "../../worker/resolve-image.js";
import { saveImages } from "../../worker/save-images.js";
import { unpackImage } from "../../worker/unpack-image.js";
import { openWorker, type Worker } from "../../worker/worker.js";
import { describeTree, mountsUnder } from "../snapshotter/tree-fixtures.js";
import { importBusybox, shIn, unpackedTree, withWorker } from "./worker-fixture.js";

function run(program: string, args: string[]): string {
  return execFileSync(program, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

/** A two-layer image whose second layer deletes, replaces a directory and adds links. */
async function makeImage(worker: Worker, dir: string): Promise<void> {
  await importBusybox(worker, dir, "interop/app:base");
  const snapshotter = await worker.snapshotter();
  const { top } = await unpackImage(worker, "interop/app:base");
  await snapshotter.prepare("work", top);
  const target = join(dir, "work");
  await mkdir(target);
  await snapshotter.mount("work", target);
  try {
    shIn(
      target,
      `rm -rf etc/passwd root && mkdir -p root/new && echo hi > root/new/file
       echo a > hard && ln hard hard2 && ln -s bin/busybox sym && chmod 4755 hard && chown -h 1000:50 sym`,
    );
  } finally {
    await snapshotter.unmount(target);
  }
  await commitImage(worker, { parentImage: "interop/app:base", activeSnapshotKey: "work", history: { createdBy: "changes" }, name: "interop/app:2" });
}

/** umoci's unpack of an OCI layout image, as a tree description. */
async function umociTree(layout: string, tag: string, bundle: string): Promise<string[]> {
  run("umoci", ["unpack", "--image", `${layout}:${tag}`, bundle]);
  return describeTree(join(bundle, "rootfs"));
}

test("skopeo inspects the docker-archive and OCI archive tsbuild saves, and umoci unpacks them to the tree tsbuild unpacks", async () => {
  await withWorker(async (worker, dir) => {
    await makeImage(worker, dir);
    const image = await resolveImage(worker.store, "interop/app:2");
    const ours = await unpackedTree(worker, dir, "interop/app:2");

    const docker = join(dir, "app-docker.tar");
    const oci = join(dir, "app-oci.tar");
    await saveImages(worker, ["interop/app:2"], { output: docker });
    const saved = await saveImages(worker, ["interop/app:2"], { output: oci, format: "oci" });

    const fromDocker = JSON.parse(run("skopeo", ["inspect", `docker-archive:${docker}`])) as Record<string, unknown>;
    assert.equal(fromDocker.RepoTags, []);
    assert.is(fromDocker.Architecture, image.config.architecture);
    assert.is(fromDocker.Os, "linux");
    assert.is((fromDocker.Layers as string[]).length, 2);
    const fromOci = JSON.parse(run("skopeo", ["inspect", `oci-archive:${oci}`])) as Record<string, unknown>;
    // The archive holds the image's distributable manifest: the layers the store keeps
    // uncompressed are gzipped, so its digest and layer digests are not the stored ones.
    assert.is(fromOci.Digest, saved.images[0].manifestDigest);
    assert.is((fromOci.Layers as string[]).length, image.manifest.layers.length);
    const raw = JSON.parse(run("skopeo", ["inspect", "--raw", `oci-archive:${oci}`])) as { layers: Array<{ mediaType: string }> };
    assert.ok(raw.layers.every((layer) => layer.mediaType.endsWith("+gzip")), "every layer leaves gzipped");
    const config = JSON.parse(run("skopeo", ["inspect", "--config", `oci-archive:${oci}`])) as { rootfs: { diff_ids: string[] } };
    assert.equal(config.rootfs.diff_ids, image.config.rootfs.diff_ids);

    // umoci over the OCI archive, extracted as a layout.
    const layout = join(dir, "layout");
    await mkdir(layout);
    run("tar", ["-xf", oci, "-C", layout]);
    assert.equal(await umociTree(layout, "2", join(dir, "bundle-oci")), ours);

    // The store itself, where built and committed layers are kept uncompressed, is a layout both read.
    const store = join(worker.root, "content");
    const stored = JSON.parse(run("skopeo", ["inspect", "--raw", `oci:${store}:docker.io/interop/app:2`])) as { layers: Array<{ mediaType: string }> };
    assert.ok(stored.layers.some((layer) => layer.mediaType === "application/vnd.oci.image.layer.v1.tar"), "a layer is stored uncompressed");
    assert.equal(await umociTree(store, "docker.io/interop/app:2", join(dir, "bundle-store")), ours);

    // skopeo converts the docker-archive to a layout, and umoci unpacks that.
    const converted = join(dir, "converted");
    run("skopeo", ["copy", "-q", `docker-archive:${docker}`, `oci:${converted}:app`]);
    assert.equal(await umociTree(converted, "app", join(dir, "bundle-docker")), ours);
    assert.equal(await mountsUnder(dir), []);
  });
});

test("archives skopeo writes (docker-archive and OCI archive) load, named, and unpack to the same tree", async () => {
  await withWorker(async (worker, dir) => {
    await makeImage(worker, dir);
    const ours = await unpackedTree(worker, dir, "interop/app:2");
    const oci = join(dir, "app-oci.tar");
    await saveImages(worker, ["interop/app:2"], { output: oci, format: "oci" });

    const skopeoDocker = join(dir, "skopeo-docker.tar");
    const skopeoOci = join(dir, "skopeo-oci.tar");
    run("skopeo", ["copy", "-q", `oci-archive:${oci}`, `docker-archive:${skopeoDocker}:example.com/team/app:1.0`]);
    run("skopeo", ["copy", "-q", `oci-archive:${oci}`, `oci-archive:${skopeoOci}:example.com/team/app:oci`]);

    const fresh = await openWorker({ root: join(dir, "fresh"), snapshotter: "overlayfs" });
    const fromDocker = await loadImages(fresh, skopeoDocker);
    assert.equal(fromDocker.images.map((image) => image.names), [["example.com/team/app:1.0"]]);
    const fromOci = await loadImages(fresh, skopeoOci);
    assert.equal(fromOci.images.map((image) => image.names), [["example.com/team/app:oci"]]);
    assert.equal(await unpackedTree(fresh, dir, "example.com/team/app:1.0"), ours);
    assert.equal(await unpackedTree(fresh, dir, "example.com/team/app:oci"), ours);
    assert.ok((await fresh.store.fsck()).ok);
  });
});

test.run();
