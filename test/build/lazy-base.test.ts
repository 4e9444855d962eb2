import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { build } from "../../build/build.js";
import type { Digest } from "../../oci/digest.js";
import { pushImage } from "../../registry/push-image.js";
import type { ProgressEvent } from "../../solver/types.js";
import { distributableLayer } from "../../worker/distributable-layer.js";
import { resolveImage } from "../../worker/resolve-image.js";
import { openWorker } from "../../worker/worker.js";
import { startRegistry } from "../registry/registry-fixture.js";
import { withBuildRoot } from "../solver/build-fixture.js";

test("a base image from a registry is resolved by its config; its layers come only when a step runs on it", async () => {
  const dir = await mkdtemp(join(tmpdir(), "tsb-lazy-base-"));
  const registry = await startRegistry(dir);
  try {
    const base = `${registry.domain}/lazy/base:1`;
    // A base image with a layer of its own, in the registry only.
    let unique = "" as Digest;
    await withBuildRoot(async (root) => {
      const context = join(root.dir, "base");
      await mkdir(context);
      await writeFile(join(context, "Dockerfile"), "FROM busybox\nRUN echo unique > /unique\n");
      await build({ context, worker: root.worker, tags: [base] });
      const images = await openWorker({ root: join(root.dir, "root") });
      await pushImage(images, base);
      // The registry holds the layer compressed, as the push made it (and the store remembers).
      unique = (await distributableLayer(images.store, (await resolveImage(images.store, base)).manifest.layers.at(-1)!)).digest;
    });

    await withBuildRoot(async (root) => {
      const context = join(root.dir, "app");
      await mkdir(context);
      await writeFile(join(context, "Dockerfile"), `FROM ${base}\nRUN cat /unique > /copy\n`);
      const events: ProgressEvent[] = [];
      const plan = await build({ context, worker: root.worker, dryRun: true, onProgress: (event) => events.push(event) });
      assert.equal(plan.steps.map((step) => step.status), ["would-run"]);
      assert.not.ok(await root.worker.store.content.has(unique), "the dry run downloaded no layer");
      assert.is(await root.worker.store.images.find(base), undefined, "nor recorded an incomplete image");
      assert.ok(events.some((event) => event.type === "phase-progress" && event.phase === "pull" && event.name === `pulling ${base}`), "the pull of the config is reported");

      const result = await build({ context, worker: root.worker });
      assert.equal(result.steps.map((step) => step.status), ["done", "done"], "the FROM (its layers pulled and unpacked) and the RUN");
      assert.ok(await root.worker.store.content.has(unique), "the layers came when the RUN needed them");
      assert.ok(await root.worker.store.images.find(base), "and the base is recorded under its name, as a pull records it");
    });
  } finally {
    await registry.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

test("a build resolves its pinned base image once, for the unpack and the export alike", async () => {
  await withBuildRoot(async (root) => {
    const context = join(root.dir, "once");
    await mkdir(context);
    await writeFile(join(context, "Dockerfile"), "FROM busybox AS a\nRUN echo a > /a\nFROM busybox\nCOPY --from=a /a /a\nRUN cat /a\n");
    const images = root.worker.store.images;
    const find = images.find.bind(images);
    const pinned: string[] = [];
    images.find = (text: string) => {
      if (text.includes("@sha256:")) pinned.push(text);
      return find(text);
    };
    try {
      const result = await build({ context, worker: root.worker });
      assert.equal(result.steps.filter((step) => step.status === "done").length, 4, "the FROM (one step for both stages), the two RUNs and the COPY ran");
    } finally {
      images.find = find;
    }
    assert.is(pinned.length, 1, `looked up once by its pinned reference, not per use: ${pinned.join(", ")}`);
  });
});

test.run();
