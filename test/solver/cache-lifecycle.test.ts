import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { build } from "../../solver/build.js";
import { CACHE_REF_KIND } from "../../solver/cache-index.js";
import { pruneImages } from "../../worker/prune-images.js";
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
    assert.ok(again.steps.filter((step) => step.status === "done").every((step) => step.missReason === "its cache record is gone (pruned)" || step.name.includes("FROM")));
  });
});

test("two builds of one Dockerfile at once on one root both succeed and agree", async () => {
  await withBuildRoot(async (root) => {
    const context = join(root.dir, "ctx");
    await mkdir(context);
    await writeFile(join(context, "Dockerfile"), "FROM busybox\nRUN echo one > /one\nRUN echo two > /two\n");
    const [a, b] = await Promise.all([build({ context, worker: root.worker, tags: ["race:a"] }), build({ context, worker: root.worker, tags: ["race:b"] })]);
    assert.is(a.config.rootfs.diff_ids.length, 3);
    assert.equal(a.config.rootfs.diff_ids, b.config.rootfs.diff_ids, "the same layers");
    const third = await build({ context, worker: root.worker });
    assert.ok(third.steps.every((step) => step.status === "cached"));
  });
});

test.run();
