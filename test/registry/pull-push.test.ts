import { mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { create as createTar } from "tar";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { isTsbuildError } from "../../errors.js";
import { ensureImage } from "../../registry/ensure-image.js";
import { createRegistryImageResolver } from "../../registry/registry-image-resolver.js";
import { pullImage } from "../../registry/pull-image.js";
import { pushImage } from "../../registry/push-image.js";
import { registryEndpoint } from "../../registry/registry-endpoint.js";
import type { TransferProgress } from "../../registry/transfer-progress.js";
import { parseImageManifest } from "../../oci/image-types.js";
import { importRootfs } from "../../worker/import-rootfs.js";
import { resolveImage } from "../../worker/resolve-image.js";
import { saveImages } from "../../worker/save-images.js";
import { unpackImage } from "../../worker/unpack-image.js";
import { corruptFile, registryBlobPath, startProxy, startRegistry, type TestRegistry } from "./registry-fixture.js";
import { makeImage, noise, storeState, withTempDir, workerAt } from "./registry-test-helpers.js";

/** Runs `fn` with an open registry on 127.0.0.1, stopped afterwards. */
async function withRegistry(fn: (dir: string, registry: TestRegistry) => Promise<void>): Promise<void> {
  await withTempDir(async (dir) => {
    const registry = await startRegistry(dir);
    try {
      await fn(dir, registry);
    } finally {
      await registry.stop();
    }
  });
}

test("push then pull into a fresh root gives the same digests, and a second push and pull transfer nothing", async () => {
  await withRegistry(async (dir, registry) => {
    const source = await workerAt(dir, "a");
    const name = `${registry.domain}/team/app:1`;
    const image = await makeImage(source, name, [{ "etc/hello": "hello\n" }, { "bin/tool": noise(200_000) }]);
    const events: TransferProgress[] = [];
    const pushed = await pushImage(source, name, { onProgress: (event) => events.push(event) });
    assert.is(pushed.digest, image.manifest);
    assert.is(pushed.name, name);
    assert.equal(pushed.blobs.map((blob) => blob.outcome).sort(), ["uploaded", "uploaded", "uploaded"]);
    assert.ok(events.some((event) => event.kind === "layer" && event.status === "pushed" && event.current === event.total));

    const again = await pushImage(source, name);
    assert.equal(again.blobs.map((blob) => blob.outcome), ["exists", "exists", "exists"]);

    const target = await workerAt(dir, "b");
    const pulled = await pullImage(target, name);
    assert.is(pulled.digest, image.manifest);
    assert.is(pulled.manifestDigest, image.manifest);
    assert.is(pulled.id, image.config);
    assert.is(pulled.name, name);
    assert.ok(pulled.updated);
    const resolved = await resolveImage(target.store, name);
    assert.is(resolved.configDigest, image.config);
    for (const layer of image.layers) assert.ok((await target.store.content.verify(layer)).ok);
    assert.equal((await storeState(target)).blobs, (await storeState(source)).blobs);

    // What a build does with a pulled base: unpack it into snapshots.
    const unpacked = await unpackImage(target, name);
    assert.is(unpacked.chainIds.length, 2);

    const repeat = await pullImage(target, name);
    assert.is(repeat.downloadedBytes, 0);
    assert.not.ok(repeat.updated);
    const byDigest = await pullImage(await workerAt(dir, "c"), `${registry.domain}/team/app@${image.manifest}`);
    assert.is(byDigest.name, undefined);
    assert.is(byDigest.id, image.config);
  });
});

test("chunked uploads and cross-repository mounts give the same manifest digest", async () => {
  await withRegistry(async (dir, registry) => {
    const worker = await workerAt(dir, "a");
    const first = `${registry.domain}/one/app:1`;
    const image = await makeImage(worker, first, [{ big: noise(300_000) }]);
    const chunked = await pushImage(worker, first, { chunkSize: 64 * 1024 });
    assert.is(chunked.digest, image.manifest);
    const second = `${registry.domain}/two/app:1`;
    await worker.store.images.tag(second, image.manifest);
    const mounted = await pushImage(worker, second);
    assert.equal(mounted.blobs.map((blob) => blob.outcome), ["mounted", "mounted"]);
    const pulled = await pullImage(await workerAt(dir, "b"), second);
    assert.is(pulled.digest, image.manifest);
  });
});

test("a missing tag and a missing repository are NOT_FOUND errors that name them, and leave the store unchanged", async () => {
  await withRegistry(async (dir, registry) => {
    const worker = await workerAt(dir, "a");
    await makeImage(worker, `${registry.domain}/app:1`, [{ a: "a" }]);
    await pushImage(worker, `${registry.domain}/app:1`);
    const before = await storeState(worker);
    for (const missing of [`${registry.domain}/app:2`, `${registry.domain}/nothing:1`]) {
      try {
        await pullImage(worker, missing);
        assert.unreachable("pulled a missing image");
      } catch (error) {
        assert.ok(isTsbuildError(error, "NOT_FOUND"), String(error));
        // A tag the repository lacks, or a repository the registry lacks (or hides: docker's "pull access denied").
        assert.match(
          (error as Error).message,
          /^Cannot get manifest ".*:[12]": (registry "127\.0\.0\.1:\d+" has no such tag or digest \(MANIFEST_UNKNOWN|repository not found on registry "127\.0\.0\.1:\d+", or access denied \((NAME|MANIFEST)_UNKNOWN)/,
        );
      }
    }
    assert.equal(await storeState(worker), before);
  });
});

test("a corrupt blob in the registry is a DIGEST_MISMATCH error, and the pull leaves the store unchanged", async () => {
  await withRegistry(async (dir, registry) => {
    const source = await workerAt(dir, "a");
    const name = `${registry.domain}/app:1`;
    const image = await makeImage(source, name, [{ small: "x" }, { big: noise(100_000) }]);
    await pushImage(source, name);
    await corruptFile(registryBlobPath(registry, image.layers[1]));
    const target = await workerAt(dir, "b");
    await makeImage(target, "other:1", [{ kept: "yes" }]);
    const before = await storeState(target);
    try {
      await pullImage(target, name, { retries: 0 });
      assert.unreachable("pulled a corrupt blob");
    } catch (error) {
      assert.ok(isTsbuildError(error, "DIGEST_MISMATCH"), String(error));
      assert.match((error as Error).message, new RegExp(`^Blob "${image.layers[1]}" of "${registry.domain.replace(/\./g, "\\.")}/app" is corrupt: Blob digest mismatch`));
    }
    assert.equal(await storeState(target), before);
    assert.equal(await readdir(join(target.root, "content", "ingest")), []);
  });
});

test("a download cut off half way resumes with a Range request", async () => {
  await withRegistry(async (dir, registry) => {
    const source = await workerAt(dir, "a");
    const image = await makeImage(source, `${registry.domain}/app:1`, [{ big: noise(2_000_000) }]);
    await pushImage(source, `${registry.domain}/app:1`);
    let cuts = 0;
    const proxy = await startProxy(registry.domain, {
      cutAfter: (req) => (req.method === "GET" && req.url?.includes(image.layers[0]) && cuts++ === 0 ? 700_000 : undefined),
    });
    try {
      const target = await workerAt(dir, "b");
      const pulled = await pullImage(target, `${proxy.domain}/app:1`, { retryDelayMs: 10 });
      assert.is(pulled.digest, image.manifest);
      assert.ok((await target.store.content.verify(image.layers[0])).ok);
      const gets = proxy.seen.filter((request) => request.path.includes(image.layers[0]) && request.method === "GET");
      assert.is(gets.length, 2);
      assert.match(gets[1].range ?? "", /^bytes=\d+-$/);
      assert.ok(Number(/=(\d+)-/.exec(gets[1].range!)![1]) > 0);
    } finally {
      await proxy.stop();
    }
  });
});

test("5xx and 429 answers are retried with backoff; a registry that keeps failing gives a clear error", async () => {
  await withRegistry(async (dir, registry) => {
    const source = await workerAt(dir, "a");
    const image = await makeImage(source, `${registry.domain}/app:1`, [{ a: "a" }]);
    await pushImage(source, `${registry.domain}/app:1`);
    let failures = 0;
    const flaky = await startProxy(registry.domain, { fail: () => (failures++ < 2 ? (failures === 1 ? 503 : 429) : undefined) });
    const broken = await startProxy(registry.domain, { fail: (req) => (req.url?.startsWith("/v2/app/manifests/") ? 500 : undefined) });
    try {
      const pulled = await pullImage(await workerAt(dir, "b"), `${flaky.domain}/app:1`, { retryDelayMs: 10 });
      assert.is(pulled.digest, image.manifest);
      // The first request was answered 503, then 429, then passed: the same request three times.
      assert.ok(failures > 3);
      assert.is(flaky.seen[1].path, flaky.seen[0].path);
      assert.is(flaky.seen[2].path, flaky.seen[0].path);
      try {
        await pullImage(await workerAt(dir, "c"), `${broken.domain}/app:1`, { retries: 2, retryDelayMs: 10 });
        assert.unreachable("pulled through a broken registry");
      } catch (error) {
        assert.ok(isTsbuildError(error, "REGISTRY"), String(error));
        assert.match((error as Error).message, /answered UNAVAILABLE: test proxy says no \(HTTP 500\)$/);
        assert.is(broken.seen.filter((request) => request.path.startsWith("/v2/app/manifests/")).length, 3);
      }
    } finally {
      await flaky.stop();
      await broken.stop();
    }
  });
});

test("403 is a clear access error, and an unreachable registry says so after its retries", async () => {
  await withRegistry(async (dir, registry) => {
    const worker = await workerAt(dir, "a");
    const denied = await startProxy(registry.domain, { fail: () => 403 });
    try {
      await pullImage(worker, `${denied.domain}/app:1`);
      assert.unreachable("pulled from a registry that denies");
    } catch (error) {
      assert.ok(isTsbuildError(error, "REGISTRY"), String(error));
      assert.match((error as Error).message, /^Cannot get manifest "app:1": repository not found on registry "127\.0\.0\.1:\d+", or access denied \(UNAVAILABLE: test proxy says no \(HTTP 403\)\)$/);
      assert.is(denied.seen.length, 1);
    } finally {
      await denied.stop();
    }
    const closed = await startProxy(registry.domain);
    const domain = closed.domain;
    await closed.stop();
    try {
      await pullImage(worker, `${domain}/app:1`, { retries: 2, retryDelayMs: 5 });
      assert.unreachable("pulled from a closed port");
    } catch (error) {
      assert.ok(isTsbuildError(error, "REGISTRY"), String(error));
      assert.match((error as Error).message, /registry "127\.0\.0\.1:\d+" refused the connection to 127\.0\.0\.1:\d+ \(ECONNREFUSED\)$/);
      assert.is((error as { status?: number }).status, 0);
    }
  });
});

test("ensureImage pulls an image the store lacks, and asks the registry again only with pull: always", async () => {
  await withRegistry(async (dir, registry) => {
    const source = await workerAt(dir, "a");
    const image = await makeImage(source, `${registry.domain}/base:1`, [{ a: "a" }]);
    await pushImage(source, `${registry.domain}/base:1`);
    const proxy = await startProxy(registry.domain);
    try {
      const worker = await workerAt(dir, "b");
      const name = `${proxy.domain}/base:1`;
      const first = await ensureImage(worker, name);
      assert.is(first.manifestDigest, image.manifest);
      const requests = proxy.seen.length;
      assert.is((await ensureImage(worker, name, { pull: "missing" })).configDigest, image.config);
      assert.is(proxy.seen.length, requests);
      await ensureImage(worker, name, { pull: "always" });
      assert.ok(proxy.seen.length > requests);

      const resolver = createRegistryImageResolver(await workerAt(dir, "c"));
      const resolved = await resolver.resolveImageConfig(name, { platform: { os: "linux", architecture: "amd64" } });
      assert.is(resolved.ref, `${name}@${image.manifest}`);
      assert.equal(resolved.config.rootfs.diff_ids, image.diffIds);
      try {
        await ensureImage(worker, `${proxy.domain}/other:1`, { pull: "never" });
        assert.unreachable();
      } catch (error) {
        assert.ok(isTsbuildError(error, "NOT_FOUND"));
      }
    } finally {
      await proxy.stop();
    }
  });
});

test("HTTPS is used except for loopback hosts and registries marked insecure", () => {
  assert.is(registryEndpoint("docker.io").baseUrl, "https://registry-1.docker.io");
  assert.is(registryEndpoint("ghcr.io").baseUrl, "https://ghcr.io");
  assert.is(registryEndpoint("localhost:5000").baseUrl, "http://localhost:5000");
  assert.is(registryEndpoint("127.0.0.1:5000").baseUrl, "http://127.0.0.1:5000");
  assert.is(registryEndpoint("[::1]:5000").baseUrl, "http://[::1]:5000");
  assert.is(registryEndpoint("10.0.0.1:5000").baseUrl, "https://10.0.0.1:5000");
  assert.is(registryEndpoint("reg.lan:5000", { insecureRegistries: ["reg.lan"] }).baseUrl, "http://reg.lan:5000");
  assert.is(registryEndpoint("reg.lan:5000", { insecureRegistries: ["reg.lan:6000"] }).baseUrl, "https://reg.lan:5000");
});

test("a layer kept uncompressed leaves gzipped, compressed once: a second push or save compresses and uploads nothing", async () => {
  await withRegistry(async (dir, registry) => {
    const worker = await workerAt(dir, "a");
    const rootfs = join(dir, "rootfs");
    await mkdir(join(rootfs, "data"), { recursive: true });
    await writeFile(join(rootfs, "data", "big"), noise(3 * 1024 * 1024)); // several gzip blocks
    await writeFile(join(rootfs, "data", "small"), "small\n");
    const tar = join(dir, "rootfs.tar");
    await createTar({ cwd: rootfs, file: tar, portable: true, mtime: new Date(0) }, ["data"]);
    const name = `${registry.domain}/team/plain:1`;
    const imported = await importRootfs(worker, tar, { name, unpack: false });
    assert.is(imported.layer.mediaType, "application/vnd.oci.image.layer.v1.tar");

    const first = await pushImage(worker, name);
    assert.is.not(first.digest, imported.manifestDigest, "the pushed manifest names the compressed layer");
    const records = await worker.store.refs.list("compressed-layer");
    assert.is(records.length, 1);
    const compressed = records[0].blobs[0];
    const made = await stat(worker.store.content.path(compressed));

    const second = await pushImage(worker, name);
    assert.is(second.digest, first.digest);
    assert.equal(second.blobs.map((blob) => blob.outcome), ["exists", "exists"]);
    assert.is((await stat(worker.store.content.path(compressed))).ino, made.ino, "the compressed blob was not made again");

    const saves = [join(dir, "one.tar"), join(dir, "two.tar")];
    for (const output of saves) await saveImages(worker, [name], { output, format: "oci" });
    assert.ok((await readFile(saves[0])).equals(await readFile(saves[1])), "two saves are the same bytes");
    assert.is((await stat(worker.store.content.path(compressed))).ino, made.ino);

    const pulled = await pullImage(await workerAt(dir, "b"), name);
    assert.is(pulled.id, imported.id, "the image id does not depend on compression");
    assert.is(pulled.manifestDigest, first.digest);
    const manifest = parseImageManifest(await (await workerAt(dir, "b")).store.content.read(first.digest));
    assert.equal(manifest.layers.map((layer) => [layer.mediaType, layer.digest]), [["application/vnd.oci.image.layer.v1.tar+gzip", compressed]]);
  });
});

test.run();
