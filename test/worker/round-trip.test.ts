import { execFileSync } from "node:child_process";
import { lstatSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { commitImage } from "../../worker/commit-image.js";
import { loadImages } from "../../worker/load-images.js";
import { saveImages } from "../../worker/save-images.js";
import { unpackImage } from "../../worker/unpack-image.js";
import { openWorker, type Worker } from "../../worker/worker.js";
import { describeTree, mountsUnder } from "../snapshotter/tree-fixtures.js";
import { importBusybox, shIn, unpackedTree, withWorker } from "./worker-fixture.js";

const hasSetcap = (() => {
  try {
    execFileSync("setcap", ["-h"], { stdio: "ignore" });
    return true;
  } catch (error) {
    return (error as { status?: number }).status !== undefined && (error as { code?: string }).code !== "ENOENT";
  }
})();

/** Prepares a snapshot on `image`'s top layer, mounts it, runs `script` in it and returns the tree, unmounted. */
async function change(worker: Worker, dir: string, options: { image: string; key: string; script: string; host?: (rootfs: string) => void }): Promise<string[]> {
  const snapshotter = await worker.snapshotter();
  const { top } = await unpackImage(worker, options.image);
  await snapshotter.prepare(options.key, top);
  const target = join(dir, `mnt-${options.key}`);
  await mkdir(target);
  await snapshotter.mount(options.key, target);
  try {
    shIn(target, options.script);
    options.host?.(target);
    return await describeTree(target);
  } finally {
    await snapshotter.unmount(target);
  }
}

/** Gives the regular file data/ping of `rootfs` cap_net_raw, with the host's setcap (or setfattr). */
function addCapability(rootfs: string): void {
  const file = join(rootfs, "data/ping");
  if (!lstatSync(file).isFile()) throw new Error(`${file} is not a regular file`);
  if (hasSetcap) execFileSync("setcap", ["cap_net_raw+ep", file]);
  // A version 2 capability value granting cap_net_raw (bit 13) permitted and effective.
  else execFileSync("setfattr", ["-n", "security.capability", "-v", "0x0100000200200000000000000000000000000000", file]);
}

const FIRST_CHANGES = `
  rm etc/group
  mkdir -p data/keep data/sub/deep && echo old > data/sub/deep/file && echo kept > data/keep/file
  echo hard > data/h1 && ln data/h1 data/h2
  ln -s ../bin/busybox data/rel-link && ln -s /etc/passwd data/abs-link
  echo suid > data/suid && chown 0:0 data/suid && chmod 4755 data/suid
  echo alice > data/alice && chown 1000:1000 data/alice && chmod 0640 data/alice
  cp /bin/busybox data/ping
`;

const SECOND_CHANGES = `
  rm -rf data/sub && mkdir data/sub && echo new > data/sub/fresh
  rm data/h1 && ln data/h2 data/h3
  rm bin/ls && rm usr/bin/env && echo replaced > usr/bin/env
  chmod 0700 data/keep && chown 1001:50 data/keep/file
`;

test("an image with deletions, recreated directories, hard links, symlinks, setuid and capabilities survives save and load into a fresh root", async () => {
  await withWorker(async (worker, dir) => {
    await importBusybox(worker, dir, "rt/base:1");
    await change(worker, dir, { image: "rt/base:1", key: "c1", script: FIRST_CHANGES, host: addCapability });
    await commitImage(worker, { parentImage: "rt/base:1", activeSnapshotKey: "c1", history: { createdBy: "first changes" }, name: "rt/app:1" });
    const expected = await change(worker, dir, { image: "rt/app:1", key: "c2", script: SECOND_CHANGES });
    const committed = await commitImage(worker, {
      parentImage: "rt/app:1",
      activeSnapshotKey: "c2",
      history: { createdBy: "second changes", comment: "round trip", author: "tests" },
      name: "rt/app:2",
    });
    assert.ok(expected.some((line) => line.startsWith("data/ping ") && line.includes(" cap:0x")), "the capability is in the source tree");
    assert.ok(expected.some((line) => line.startsWith("data/suid ") && line.includes("mode:4755")));
    assert.ok(expected.some((line) => line.startsWith("data/h3 ") && line.includes("same-inode-as:data/h2")));
    assert.not.ok(expected.some((line) => line.startsWith("etc/group ") || line.startsWith("bin/ls ") || line.startsWith("data/sub/deep")));

    // The worker's own unpack of the committed image is the tree the changes made.
    assert.equal(await unpackedTree(worker, dir, "rt/app:2"), expected);

    for (const format of ["docker", "oci"] as const) {
      const archive = join(dir, `app-${format}.tar`);
      const saved = await saveImages(worker, ["rt/app:2"], { output: archive, format });
      const fresh = await openWorker({ root: join(dir, `fresh-${format}`), snapshotter: "overlayfs" });
      const loaded = await loadImages(fresh, archive);
      // The store keeps the layer uncompressed and save gzips it: the archive's manifest is
      // the image's distributable one, and the image id (the config) is the same.
      assert.is.not(saved.images[0].manifestDigest, committed.manifestDigest);
      assert.equal(loaded.images, [{ id: committed.id, manifestDigest: saved.images[0].manifestDigest, names: ["rt/app:2"], renamed: [] }]);
      assert.equal(await unpackedTree(fresh, dir, "rt/app:2"), expected, `the ${format} archive unpacks to the same tree`);
      assert.ok((await fresh.store.fsck()).ok);
    }
    assert.equal(await mountsUnder(dir), []);
  });
});

test.run();
