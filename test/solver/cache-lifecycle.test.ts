import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { build } from "../../build/build.js";
import { CACHE_REF_KIND } from "../../solver/cache-index.js";
import { pruneImages } from "../../worker/prune-images.js";
import { unpackImage } from "../../worker/unpack-image.js";
import { openWorker } from "../../worker/worker.js";
import { withBuildRoot } from "./build-fixture.js";

test("prune keeps a named image's layers, drops the build cache, and the next build runs again", async () => {
  await withBuildRoot(async (root) => {
    const context = await root.fixture("multi-stage");
    await build({ context, worker: root.worker, tags: ["kept:1"] });
    const records = await root.worker.store.refs.list(CACHE_REF_KIND);
    assert.ok(records.length >= 6, `${records.length} cache records`);

    const imageWorker = await openWorker({ root: join(root.dir, "root") });
    const pruned = await pruneImages(imageWorker, { cache: true });
    assert.equal(await root.worker.store.refs.list(CACHE_REF_KIND), [], "the cache records are gone");
    assert.ok(pruned !== undefined);
    assert.ok(await root.worker.store.images.find("kept:1"), "the image stays");
    const cacheSnapshots: string[] = [];
    await root.worker.snapshotter.walk((info) => {
      if (records.some((record) => record.snapshots.includes(info.key))) cacheSnapshots.push(info.key);
    });
    assert.equal(cacheSnapshots, [], "the snapshots the cache held were collected");

    const runs = root.runs();
    const again = await build({ context, worker: root.worker, tags: ["kept:1"] });
    assert.is(root.runs(), runs + 2, "both RUNs ran again");
    assert.ok(again.steps.filter((step) => step.status === "done").every((step) => step.missReason?.message === "its cache record is gone (pruned)" || step.name.includes("FROM")));
  });
});

test("two builds of one Dockerfile at once on one root each give a consistent image", async () => {
  await withBuildRoot(async (root) => {
    const context = join(root.dir, "ctx");
    await mkdir(context);
    // The second step reads what the first wrote: an image mixing the two builds' layers would show it.
    await writeFile(join(context, "Dockerfile"), "FROM busybox\nRUN date +%s%N > /one\nRUN cat /one > /two\n");
    const outs = [join(root.dir, "a"), join(root.dir, "b")];
    const results = await Promise.all(outs.map((dest, i) => build({ context, worker: root.worker, tags: [`race:${i}`], output: { type: "local", dest } })));
    const imageWorker = await openWorker({ root: join(root.dir, "root") });
    for (const [i, dest] of outs.entries()) {
      assert.is(await readFile(join(dest, "two"), "utf8"), await readFile(join(dest, "one"), "utf8"), `build ${i}'s steps agree`);
      assert.is(results[i].config.rootfs.diff_ids.length, 3);
      // The image's own layers, unpacked afresh, agree too.
      const { top } = await unpackImage(imageWorker, `race:${i}`);
      const target = join(root.dir, `view-${i}`);
      await mkdir(target);
      await root.worker.snapshotter.view(`race-view-${i}`, top!);
      await root.worker.snapshotter.mount(`race-view-${i}`, target);
      try {
        assert.is(await readFile(join(target, "two"), "utf8"), await readFile(join(target, "one"), "utf8"), `image ${i}'s layers come from one chain`);
      } finally {
        await root.worker.snapshotter.unmount(target);
        await root.worker.snapshotter.remove(`race-view-${i}`);
      }
    }
    const third = await build({ context, worker: root.worker });
    assert.ok(third.steps.every((step) => step.status === "cached"));
  });
});

test.run();
