import { mkdir, readdir, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { build, type BuildResult } from "../../build/build.js";
import type { ProgressEvent } from "../../solver/types.js";
import { pruneImages } from "../../worker/prune-images.js";
import { removeImages } from "../../worker/remove-images.js";
import { resolveImage } from "../../worker/resolve-image.js";
import { openWorker } from "../../worker/worker.js";
import { withBuildRoot } from "../solver/build-fixture.js";

const BUILDS = 3;

test("prune -a and rmi while builds run untag their base and cache, and every build still finishes", async () => {
  await withBuildRoot(async (root) => {
    const warm = join(root.dir, "warm");
    await mkdir(warm);
    await writeFile(join(warm, "Dockerfile"), "FROM busybox\nRUN echo cached > /cached\n");
    await build({ context: warm, worker: root.worker, tags: ["warm:1"] });
    // As if the base was pulled and the cache made long ago: a collector spares blobs newer
    // than the oldest live lease, and these must owe nothing to that.
    const blobs = join(root.dir, "root", "content", "blobs", "sha256");
    const longAgo = new Date(Date.now() - 3_600_000);
    for (const blob of await readdir(blobs)) await utimes(join(blobs, blob), longAgo, longAgo);

    // Each build's last RUN says it is waiting, then waits for a file in its (live) context.
    const contexts: string[] = [];
    const waiting: Array<Promise<void>> = [];
    const runs: Array<Promise<BuildResult>> = [];
    for (let i = 0; i < BUILDS; i++) {
      const context = join(root.dir, `ctx${i}`);
      await mkdir(context);
      await writeFile(
        join(context, "Dockerfile"),
        `FROM busybox\nRUN echo cached > /cached\nRUN --mount=type=bind,target=/ctx sh -c 'echo waiting-${i}; until [ -e /ctx/go ]; do sleep 0.1; done; echo ${i} > /n'\n`,
      );
      contexts.push(context);
      let started!: () => void;
      waiting.push(new Promise<void>((resolve) => (started = resolve)));
      const onProgress = (event: ProgressEvent) => {
        if (event.type === "vertex-log" && event.data.toString().includes(`waiting-${i}`)) started();
      };
      const run = build({ context, worker: root.worker, tags: [`app${i}:1`], onProgress });
      run.catch(() => started()); // a failed build must not leave the test waiting
      runs.push(run);
    }
    try {
      await Promise.all(waiting);
      const images = await openWorker({ root: join(root.dir, "root") });
      const removed = await removeImages(images, ["busybox"], { force: true });
      assert.is(removed.results.length, 1);
      await pruneImages(images, { all: true, cache: true });
      assert.is(await root.worker.store.images.find("busybox"), undefined, "the base is untagged");
      assert.is(await root.worker.store.images.find("warm:1"), undefined, "prune -a removed the other image");
    } finally {
      for (const context of contexts) await writeFile(join(context, "go"), "");
    }
    // Every build ends before the root is cleaned up, whatever happened to the others.
    const settled = await Promise.allSettled(runs);
    const failures = settled.flatMap((outcome) => (outcome.status === "rejected" ? [String(outcome.reason)] : []));
    assert.equal(failures, [], "no build failed");
    const results = settled.map((outcome) => (outcome as PromiseFulfilledResult<BuildResult>).value);
    for (const [i, result] of results.entries()) {
      assert.equal(
        result.steps.map((step) => step.status),
        ["cached", "done"],
        `build ${i}: the cached step was served from a record the prune removed meanwhile`,
      );
      const image = await resolveImage(root.worker.store, `app${i}:1`);
      assert.is(image.manifest.layers.length, 3, "busybox's layer, the cached step's and the new one");
      for (const layer of image.manifest.layers) assert.ok(await root.worker.store.content.has(layer.digest), `layer ${layer.digest} is in the store`);
    }
  });
});

test.run();
