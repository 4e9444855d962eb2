import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { pullImage } from "../../registry/pull-image.js";
import { pushImage } from "../../registry/push-image.js";
import { killChild, moduleUrl, startScript, waitForOutput } from "../store/child-process.js";
import { startProxy, startRegistry } from "./registry-fixture.js";
import { makeImage, noise, withTempDir, workerAt } from "./registry-test-helpers.js";

test("a pull killed half way leaves no image and no ingest file behind, and the next pull completes", async () => {
  await withTempDir(async (dir) => {
    const registry = await startRegistry(dir);
    // Blobs stop after their first 2 MB: the 3 MB layer reports progress (one event a MiB),
    // then waits, so the pull is mid-way whenever the kill comes.
    const proxy = await startProxy(registry.domain, { stallAfter: (req) => (req.url?.includes("/blobs/") ? 2_000_000 : undefined) });
    try {
      const source = await workerAt(dir, "a");
      const image = await makeImage(source, `${registry.domain}/app:1`, [{ small: "x" }, { big: noise(3_000_000) }]);
      await pushImage(source, `${registry.domain}/app:1`);
      const name = `${proxy.domain}/app:1`;
      const root = join(dir, "b");
      const child = startScript(`
        const { openWorker } = await import(${JSON.stringify(moduleUrl("worker/worker.js", import.meta.url))});
        const { pullImage } = await import(${JSON.stringify(moduleUrl("registry/pull-image.js", import.meta.url))});
        const worker = await openWorker({ root: ${JSON.stringify(root)}, snapshotter: "native" });
        await pullImage(worker, ${JSON.stringify(name)}, {
          onProgress: (event) => { if (event.status === "downloading" && event.current > 0) console.log("downloading"); },
        });
        console.log("finished");
      `);
      try {
        await waitForOutput(child, "downloading", 20_000);
        const ingest = await readdir(join(root, "content", "ingest"));
        assert.ok(ingest.length > 0, "the pull was writing");
      } finally {
        await killChild(child);
      }
      assert.not.match(child.stdout(), /finished/);

      const worker = await workerAt(dir, "b"); // opening the store removes the dead pull's ingest files
      assert.equal(await readdir(join(root, "content", "ingest")), []);
      assert.equal(await worker.store.images.list(), []);
      const pulled = await pullImage(worker, `${registry.domain}/app:1`);
      assert.is(pulled.digest, image.manifest);
      const report = await worker.store.fsck();
      assert.ok(report.ok, JSON.stringify(report));
    } finally {
      await proxy.stop();
      await registry.stop();
    }
  });
});

test.run();
