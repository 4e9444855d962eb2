import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { isTsbuildError } from "../../errors.js";
import { pullImage } from "../../registry/pull-image.js";
import { RegistryError } from "../../registry/registry-error.js";
import { build, type BuildOptions, type BuildResult } from "../../build/build.js";
import { parseCacheSpec } from "../../solver/cache-location.js";
import type { Digest } from "../../oci/digest.js";
import { distributableManifest } from "../../worker/distributable-layer.js";
import { openWorker } from "../../worker/worker.js";
import { startRegistry, type TestRegistry } from "../registry/registry-fixture.js";
import { withBuildRoot, type BuildRoot } from "./build-fixture.js";

/** Runs `fn` with an open distribution registry on 127.0.0.1 and a temp dir, both gone afterwards. */
async function withRegistry(fn: (registry: TestRegistry, dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "tsb-cache-"));
  try {
    const registry = await startRegistry(dir);
    try {
      await fn(registry, dir);
    } finally {
      await registry.stop();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The digest of a built image's manifest as push and save send it (layers compressed). */
async function distributableDigest(root: BuildRoot, manifestDigest: Digest): Promise<Digest> {
  return (await distributableManifest(root.worker.store, await root.worker.store.content.read(manifestDigest))).digest;
}

async function buildMultiStage(root: BuildRoot, extra: Partial<BuildOptions> = {}): Promise<BuildResult> {
  const context = await root.fixture("multi-stage");
  return build({ context, worker: root.worker, tags: ["app:1"], buildArgs: { SOURCE_DATE_EPOCH: "1700000000" }, ...extra });
}

test("a fresh root that imports a registry cache runs no step and builds the same image id; min exports the final chain, max every stage", async () => {
  await withRegistry(async (registry) => {
    const minRef = `${registry.domain}/cache/app:min`;
    const maxRef = `${registry.domain}/cache/app:max`;
    const first = await withBuildRoot(async (root) => {
      const result = await buildMultiStage(root, {
        cacheTo: [
          { type: "registry", ref: minRef },
          { type: "registry", ref: maxRef, mode: "max" },
        ],
      });
      assert.ok(root.runs() > 0);
      const [min, max] = result.cacheExports!;
      // FROM is no step of the cache: the base image comes from the store or its registry.
      const steps = result.steps.filter((step) => !/\] FROM /.test(step.name));
      const finalSteps = steps.filter((step) => !step.name.startsWith("[build"));
      const buildSteps = steps.filter((step) => step.name.startsWith("[build"));
      assert.is(buildSteps.length, 3);
      assert.is(min.keys.length, finalSteps.length);
      assert.ok(buildSteps.every((step) => !min.keys.includes(step.cacheKey)));
      assert.ok(buildSteps.every((step) => max.keys.includes(step.cacheKey)));
      assert.ok(finalSteps.every((step) => max.keys.includes(step.cacheKey)));
      assert.ok(min.uploaded.length > 0);

      // Blobs the registry has are not sent again.
      const again = await buildMultiStage(root, { cacheTo: [{ type: "registry", ref: maxRef, mode: "max" }] });
      assert.equal(again.cacheExports![0].uploaded, []);
      return { ...result, distributable: await distributableDigest(root, result.manifestDigest) };
    });
    for (const ref of [minRef, maxRef]) {
      await withBuildRoot(async (root) => {
        const warnings: string[] = [];
        const second = await buildMultiStage(root, { cacheFrom: [{ type: "registry", ref }], onProgress: (event) => event.type === "warning" && warnings.push(event.message) });
        assert.equal(warnings, []);
        assert.is(root.runs(), 0, `${ref}: no container runs`);
        assert.ok(second.steps.every((step) => step.status === "cached"), `${ref}: every step is cached`);
        assert.is(second.imageId, first.imageId);
        // Layers from the cache come gzipped, the first root's are uncompressed: as they leave the machine, the manifests are one.
        assert.is(await distributableDigest(root, second.manifestDigest), first.distributable);
        // Lazily: the build stage's steps (exported by mode=max) were never fetched, as the final chain was cached.
        for (const step of first.steps.filter((s) => s.name.startsWith("[build") && !/\] FROM /.test(s.name))) {
          assert.is(await root.worker.store.refs.get("cache", step.cacheKey), undefined, step.name);
        }
      });
    }
  });
});

test("a cache exported to a local OCI layout directory round-trips onto a fresh root", async () => {
  const dir = await mkdtemp(join(tmpdir(), "tsb-cache-local-"));
  try {
    const cacheDir = join(dir, "cache");
    const first = await withBuildRoot((root) => buildMultiStage(root, { cacheTo: [{ type: "local", dir: cacheDir, mode: "max" }] }));
    const layout = JSON.parse(await readFile(join(cacheDir, "index.json"), "utf8")) as { manifests: Array<{ mediaType: string }> };
    assert.is(layout.manifests[0].mediaType, "application/vnd.oci.image.index.v1+json");
    assert.ok((await readdir(join(cacheDir, "blobs", "sha256"))).length > 2);
    await withBuildRoot(async (root) => {
      const second = await buildMultiStage(root, { cacheFrom: [{ type: "local", dir: cacheDir }] });
      assert.is(root.runs(), 0);
      assert.is(second.imageId, first.imageId);
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("build with push puts every name in the registry, and a pull into a fresh root gives the same manifest digest", async () => {
  await withRegistry(async (registry, dir) => {
    const name = `${registry.domain}/team/app:1`;
    const built = await withBuildRoot((root) => buildMultiStage(root, { tags: [name], push: true }));
    // The store keeps the layers uncompressed; the registry gets them gzipped, so another manifest of the same image.
    assert.is.not(built.pushed?.[0].digest, built.manifestDigest);
    const target = await openWorker({ root: join(dir, "fresh") });
    const pulled = await pullImage(target, name);
    assert.is(pulled.manifestDigest, built.pushed?.[0].digest);
    assert.is(pulled.id, built.imageId);
  });
});

test("an unreachable --cache-from is a warning and the build goes on; a bad cache spec is a usage error", async () => {
  await withBuildRoot(async (root) => {
    const warnings: string[] = [];
    const result = await buildMultiStage(root, {
      cacheFrom: [{ type: "registry", ref: "127.0.0.1:9/nothing/here:cache" }],
      registry: { retries: 0 },
      onProgress: (event) => event.type === "warning" && warnings.push(event.message),
    });
    assert.ok(result.imageId.startsWith("sha256:"));
    assert.ok(warnings.some((message) => message.startsWith('Cannot import the build cache from "127.0.0.1:9/nothing/here:cache"')), warnings.join("\n"));
    assert.ok(result.warnings.some((warning) => warning.code === "cache-import"));
  });
  for (const spec of ["type=s3,ref=x", "type=registry", "type=registry,ref=a,mode=all", "ref"]) {
    try {
      parseCacheSpec(spec, { flag: "--cache-to" });
      assert.unreachable(spec);
    } catch (error) {
      assert.ok(isTsbuildError(error, "USAGE"), String(error));
    }
  }
});

test("an export the registry refuses fails with the registry's status", async () => {
  const dir = await mkdtemp(join(tmpdir(), "tsb-cache-auth-"));
  try {
    const registry = await startRegistry(dir, { htpasswd: { username: "dev", password: "s3cret-pass" } });
    try {
      await withBuildRoot(async (root) => {
        const ref = `${registry.domain}/cache/app:cache`;
        try {
          await buildMultiStage(root, { cacheTo: [{ type: "registry", ref }], registry: { dockerConfig: { configDir: dir }, retries: 0 } });
          assert.unreachable("the export was refused");
        } catch (error) {
          assert.instance(error, RegistryError);
          assert.is((error as RegistryError).status, 401);
          assert.match((error as Error).message, `Cannot export the build cache to "${ref}"`);
        }
      });
    } finally {
      await registry.stop();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
