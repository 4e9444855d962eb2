import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { digestOf } from "../../oci/digest.js";
import { parseImageManifest } from "../../oci/image-types.js";
import { pullImage } from "../../registry/pull-image.js";
import { build } from "../../build/build.js";
import { openWorker } from "../../worker/worker.js";
import { startRegistry } from "../registry/registry-fixture.js";
import { withBuildRoot } from "./build-fixture.js";

/** What one root's build gives, in digests only. */
interface Outcome {
  imageId: string;
  stepKeys: string[];
  pushed: string;
  pushedLayers: string[];
  archives: Record<"docker" | "oci", string>;
  /** The exported cache's keys and its layers (records also hold when each step ran, which differs). */
  cacheKeys: string[];
  cacheLayers: string[];
}

/** The layer digests a local cache export lists (its index of layers and one config). */
async function cacheLayers(dir: string): Promise<string[]> {
  const layout = JSON.parse(await readFile(join(dir, "index.json"), "utf8")) as { manifests: Array<{ digest: string }> };
  const index = JSON.parse(await readFile(join(dir, "blobs", "sha256", layout.manifests[0].digest.slice(7)), "utf8")) as { manifests: Array<{ mediaType: string; digest: string }> };
  return index.manifests.filter((entry) => entry.mediaType.includes("layer")).map((entry) => entry.digest).sort();
}

test("the same fixture built in two roots gives the same image id, cache keys, and layer digests after push and after save", async () => {
  const dir = await mkdtemp(join(tmpdir(), "tsb-reproducible-"));
  const registry = await startRegistry(dir);
  try {
    const outcomes: Outcome[] = [];
    // One name for both, so the archives can match byte for byte; the second push finds the
    // first one's blobs, but its manifest is computed in its own root.
    const name = `${registry.domain}/repro/app:1`;
    for (let i = 0; i < 2; i++) {
      outcomes.push(
        await withBuildRoot(async (root) => {
          const context = await root.fixture("multi-stage");
          const cacheDir = join(root.dir, "cache");
          const built = await build({
            context,
            worker: root.worker,
            tags: [name],
            buildArgs: { SOURCE_DATE_EPOCH: "1700000000" },
            push: true,
            cacheTo: [{ type: "local", dir: cacheDir, mode: "max" }],
          });
          const archives = { docker: "", oci: "" };
          for (const format of ["docker", "oci"] as const) {
            const output = join(root.dir, `app-${format}.tar`);
            await root.worker.images.save([name], { output, format, sourceDateEpoch: 1700000000 });
            archives[format] = digestOf(await readFile(output));
          }
          const pushed = built.pushed![0].digest;
          const pulled = await openWorker({ root: join(root.dir, "pulled") });
          await pullImage(pulled, name);
          const manifest = parseImageManifest(await pulled.store.content.read(pushed));
          return {
            imageId: built.imageId,
            stepKeys: built.steps.map((step) => step.cacheKey).sort(),
            pushed,
            pushedLayers: manifest.layers.map((layer) => layer.digest),
            archives,
            cacheKeys: [...built.cacheExports![0].keys].sort(),
            cacheLayers: await cacheLayers(cacheDir),
          };
        }),
      );
    }
    const [first, second] = outcomes;
    assert.is(second.imageId, first.imageId);
    assert.equal(second.stepKeys, first.stepKeys);
    assert.is(second.pushed, first.pushed, "the registries got the same manifest");
    assert.equal(second.pushedLayers, first.pushedLayers);
    assert.is(first.pushedLayers.length, 5, "busybox, then COPY, COPY, RUN, and the WORKDIR's directory");
    assert.equal(second.archives, first.archives, "save writes the same bytes in both roots");
    assert.equal(second.cacheKeys, first.cacheKeys, "the caches export the same keys");
    assert.equal(second.cacheLayers, first.cacheLayers, "and the same layer blobs");
    assert.ok(first.cacheLayers.length >= first.cacheKeys.length - 2, "nearly every step has a layer of its own");
  } finally {
    await registry.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
