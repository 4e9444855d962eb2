import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { build } from "../../build/build.js";
import { withBuildRoot } from "../solver/build-fixture.js";

test("on a fresh root that imported the cache, a miss still says which file changed", async () => {
  const dir = await mkdtemp(join(tmpdir(), "tsb-cache-explain-"));
  try {
    const cacheDir = join(dir, "cache");
    const writeContext = async (context: string, version: string) => {
      await mkdir(context, { recursive: true });
      await writeFile(join(context, "Dockerfile"), "FROM busybox\nRUN echo base > /base\nCOPY app.txt config.txt /app/\n");
      await writeFile(join(context, "app.txt"), version);
      await writeFile(join(context, "config.txt"), "same\n");
    };
    await withBuildRoot(async (root) => {
      const context = join(root.dir, "checkout");
      await writeContext(context, "v1\n");
      await build({ context, worker: root.worker, cacheTo: [{ type: "local", dir: cacheDir, mode: "max" }] });
    });
    // Another machine: another root, another checkout path, the same Dockerfile with one file changed.
    await withBuildRoot(async (root) => {
      const context = join(root.dir, "elsewhere", "checkout");
      await writeContext(context, "v2\n");
      const result = await build({ context, worker: root.worker, cacheFrom: [{ type: "local", dir: cacheDir }] });
      const copy = result.steps.find((step) => step.name.includes("COPY"));
      assert.is(copy?.status, "done");
      assert.equal(copy?.missReason, { kind: "file-changed", files: [{ path: "app.txt", change: "changed" }], message: 'file "app.txt" changed' });
      assert.is(result.steps.find((step) => step.name.includes("RUN"))?.status, "cached", "the unchanged step came from the imported cache");
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
