import { execFileSync } from "node:child_process";
import { createReadStream } from "node:fs";
import { chmod, link, mkdir, readFile, rename, rm, stat, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { digestOf } from "../../oci/digest.js";
import type { LayerWriteResult } from "../../oci/layer-writer.js";
import { createSnapshotter } from "../../snapshotter/create-snapshotter.js";
import type { SnapshotterName } from "../../snapshotter/types.js";
import { cleanupRoot, describeTree, makeRoot, mountsUnder, withMounted } from "./tree-fixtures.js";

/**
 * Interoperability with an independent implementation of the OCI layer format: umoci
 * unpacks the layers our diff writes, and our apply reads the layers umoci repacks.
 */

/** An OCI image layout at `dir` tagged `t`, made of the given layer blobs. */
async function writeLayout(dir: string, layers: Array<{ path: string; result: LayerWriteResult }>): Promise<void> {
  const blobs = join(dir, "blobs", "sha256");
  await mkdir(blobs, { recursive: true });
  const put = async (bytes: Buffer | string) => {
    const digest = digestOf(bytes);
    await writeFile(join(blobs, digest.slice(7)), bytes);
    return { digest, size: Buffer.byteLength(bytes) };
  };
  for (const layer of layers) await rename(layer.path, join(blobs, layer.result.digest.slice(7)));
  const config = await put(
    JSON.stringify({ architecture: "amd64", os: "linux", config: {}, rootfs: { type: "layers", diff_ids: layers.map((l) => l.result.diffId) } }),
  );
  const manifest = await put(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config },
      layers: layers.map((l) => ({ mediaType: l.result.mediaType, digest: l.result.digest, size: l.result.size })),
    }),
  );
  await writeFile(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  await writeFile(
    join(dir, "index.json"),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{ mediaType: "application/vnd.oci.image.manifest.v1+json", ...manifest, annotations: { "org.opencontainers.image.ref.name": "t" } }],
    }),
  );
}

for (const implementation of ["overlayfs", "native"] as SnapshotterName[]) {
  const test = suite(`umoci interoperability (${implementation})`);

  test("umoci unpacks the layers our diff writes to the same tree", async () => {
    const root = await makeRoot();
    try {
      const snapshotter = await createSnapshotter(join(root, "store"), { implementation });
      await snapshotter.prepare("a1");
      await withMounted(snapshotter, "a1", async (dir) => {
        await mkdir(join(dir, "opaque"));
        await writeFile(join(dir, "opaque/old"), "old");
        await writeFile(join(dir, "gone"), "gone");
        await writeFile(join(dir, "kept"), "kept");
      });
      await snapshotter.commit("L1", "a1");
      await snapshotter.prepare("a2", "L1");
      const expected = await withMounted(snapshotter, "a2", async (dir) => {
        await rm(join(dir, "gone"));
        await rm(join(dir, "opaque"), { recursive: true });
        await mkdir(join(dir, "opaque"));
        await writeFile(join(dir, "opaque/new"), "new");
        await writeFile(join(dir, "suid"), "s");
        await chmod(join(dir, "suid"), 0o4755);
        await link(join(dir, "suid"), join(dir, "suid-link"));
        await symlink("kept", join(dir, "to-kept"));
        return describeTree(dir);
      });
      const layers = [];
      for (const [key, file] of [["L1", "one.tgz"], ["a2", "two.tgz"]]) {
        const path = join(root, file);
        layers.push({ path, result: await snapshotter.diff(key, path) });
      }
      await writeLayout(join(root, "layout"), layers);
      execFileSync("umoci", ["unpack", "--image", `${join(root, "layout")}:t`, join(root, "bundle")], { stdio: "pipe" });
      assert.equal(await describeTree(join(root, "bundle", "rootfs")), expected);
      assert.equal(await mountsUnder(root), []);
    } finally {
      await cleanupRoot(root);
    }
  });

  test("our apply reads the layer umoci repacks, whiteouts included", async () => {
    const root = await makeRoot();
    try {
      const snapshotter = await createSnapshotter(join(root, "store"), { implementation });
      await snapshotter.prepare("a1");
      await withMounted(snapshotter, "a1", async (dir) => {
        await mkdir(join(dir, "d"));
        await writeFile(join(dir, "d/old"), "old");
        await writeFile(join(dir, "gone"), "gone");
      });
      const path = join(root, "one.tgz");
      await writeLayout(join(root, "layout"), [{ path, result: await snapshotter.diff("a1", path) }]);
      const bundle = join(root, "bundle");
      execFileSync("umoci", ["unpack", "--image", `${join(root, "layout")}:t`, bundle], { stdio: "pipe" });
      await rm(join(bundle, "rootfs", "gone"));
      await rm(join(bundle, "rootfs", "d", "old"));
      await writeFile(join(bundle, "rootfs", "d", "new"), "new");
      const expected = await describeTree(join(bundle, "rootfs"));
      execFileSync("umoci", ["repack", "--image", `${join(root, "layout")}:t2`, bundle], { stdio: "pipe" });

      const index = JSON.parse(await readFile(join(root, "layout", "index.json"), "utf8"));
      const t2 = index.manifests.find((m: { annotations?: Record<string, string> }) => m.annotations?.["org.opencontainers.image.ref.name"] === "t2");
      const manifest = JSON.parse(await readFile(join(root, "layout", "blobs", "sha256", t2.digest.slice(7)), "utf8"));
      const config = JSON.parse(await readFile(join(root, "layout", "blobs", "sha256", manifest.config.digest.slice(7)), "utf8"));
      assert.is(manifest.layers.length, 2);
      let parent: string | undefined;
      for (const [i, layer] of manifest.layers.entries()) {
        const blob = join(root, "layout", "blobs", "sha256", layer.digest.slice(7));
        assert.ok((await stat(blob)).size > 0);
        const applied = await snapshotter.apply(`u${i}`, createReadStream(blob), { parent, expectedDiffId: config.rootfs.diff_ids[i] });
        parent = applied.info.key;
      }
      await snapshotter.view("look", parent!);
      assert.equal(await withMounted(snapshotter, "look", (dir) => describeTree(dir)), expected);
    } finally {
      await cleanupRoot(root);
    }
  });

  test.run();
}
