import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { gunzipSync } from "node:zlib";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { digestOf, type Digest } from "../../oci/digest.js";
import { createDescriptor, createImageIndex, createImageManifest, serializeJson, type Descriptor, type ImageConfig } from "../../oci/image-types.js";
import { DOCKER_MEDIA_TYPES, OCI_MEDIA_TYPES } from "../../oci/media-types.js";
import { pullImage } from "../../registry/pull-image.js";
import { pushImage } from "../../registry/push-image.js";
import type { Store } from "../../store/store.js";
import { hostPlatform, resolveImage } from "../../worker/resolve-image.js";
import { makeLayer } from "../store/tiny-image.js";
import { startRegistry, type TestRegistry } from "./registry-fixture.js";
import { makeImage, noise, withTempDir, workerAt } from "./registry-test-helpers.js";

const run = promisify(execFile);

async function skopeo(...args: string[]): Promise<string> {
  return (await run("skopeo", args, { maxBuffer: 64 * 1024 * 1024 })).stdout;
}

/** The digest of what a tag points at, as skopeo reads it (the raw manifest's sha256). */
async function remoteDigest(reference: string): Promise<Digest> {
  return digestOf(await skopeo("inspect", "--raw", "--tls-verify=false", `docker://${reference}`));
}

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

/** Writes a one-layer image of `architecture` and returns its manifest's descriptor with the platform. */
async function writePlatformImage(store: Store, architecture: string): Promise<Descriptor> {
  const layer = await makeLayer({ arch: `${architecture}\n` });
  const info = await store.content.write(layer);
  const config: ImageConfig = {
    architecture,
    os: "linux",
    created: "2026-01-01T00:00:00Z",
    config: { Cmd: ["/bin/sh"] },
    rootfs: { type: "layers", diff_ids: [digestOf(gunzipSync(layer))] },
  };
  const configBytes = serializeJson(config);
  const configDescriptor = createDescriptor(OCI_MEDIA_TYPES.config, configBytes);
  await store.content.write(configBytes);
  const manifestBytes = serializeJson(createImageManifest(configDescriptor, [{ mediaType: OCI_MEDIA_TYPES.layerGzip, digest: info.digest, size: info.size }]));
  await store.content.write(manifestBytes);
  return createDescriptor(OCI_MEDIA_TYPES.manifest, manifestBytes, { platform: { os: "linux", architecture } });
}

test("skopeo copies an image tsbuild pushed, and tsbuild pulls images skopeo pushed, OCI and docker schema 2", async () => {
  await withRegistry(async (dir, registry) => {
    const worker = await workerAt(dir, "a");
    const name = `${registry.domain}/by-tsbuild:1`;
    const image = await makeImage(worker, name, [{ "etc/a": "a\n" }, { big: noise(150_000) }]);
    await pushImage(worker, name);
    assert.is(await remoteDigest(name), image.manifest);
    await skopeo("copy", "-q", "--src-tls-verify=false", `docker://${name}`, `oci:${join(dir, "skopeo-layout")}:copy`);

    // skopeo reads tsbuild's store as the OCI layout it is, and pushes from it.
    await makeImage(worker, "src:1", [{ "etc/b": "b\n" }]);
    const layout = `oci:${join(worker.root, "content")}:docker.io/library/src:1`;
    const oci = `${registry.domain}/by-skopeo:oci`;
    const v2s2 = `${registry.domain}/by-skopeo:v2s2`;
    await skopeo("copy", "-q", "--dest-tls-verify=false", layout, `docker://${oci}`);
    await skopeo("copy", "-q", "--dest-tls-verify=false", "--format", "v2s2", layout, `docker://${v2s2}`);
    const target = await workerAt(dir, "b");
    for (const [reference, mediaType] of [[oci, OCI_MEDIA_TYPES.manifest], [v2s2, DOCKER_MEDIA_TYPES.manifest]] as const) {
      const pulled = await pullImage(target, reference);
      assert.is(pulled.digest, await remoteDigest(reference));
      const resolved = await resolveImage(target.store, reference);
      assert.is(resolved.manifest.mediaType, mediaType);
      for (const layer of resolved.manifest.layers) assert.ok((await target.store.content.verify(layer.digest)).ok);
    }
  });
});

test("a multi-platform index: tsbuild pulls the host's or the asked platform of one skopeo pushed, and pushes one skopeo copies whole", async () => {
  await withRegistry(async (dir, registry) => {
    const worker = await workerAt(dir, "a");
    const host = hostPlatform().architecture;
    const other = host === "arm64" ? "amd64" : "arm64";
    const hostManifest = await writePlatformImage(worker.store, host);
    const otherManifest = await writePlatformImage(worker.store, other);
    const indexBytes = serializeJson(createImageIndex([hostManifest, otherManifest]));
    const indexDigest = (await worker.store.content.write(indexBytes)).digest;
    await worker.store.images.tag("multi:1", indexDigest);

    const bySkopeo = `${registry.domain}/multi:skopeo`;
    await skopeo("copy", "-q", "--all", "--dest-tls-verify=false", `oci:${join(worker.root, "content")}:docker.io/library/multi:1`, `docker://${bySkopeo}`);
    const remote = await remoteDigest(bySkopeo);
    const target = await workerAt(dir, "b");
    const pulled = await pullImage(target, bySkopeo);
    assert.is(pulled.digest, remote);
    assert.is((await resolveImage(target.store, bySkopeo)).config.architecture, host);
    const picked = await pullImage(await workerAt(dir, "c"), bySkopeo, { platform: { os: "linux", architecture: other } });
    assert.is(picked.digest, remote);
    assert.not.equal(picked.manifestDigest, pulled.manifestDigest);

    const byTsbuild = `${registry.domain}/multi:tsbuild`;
    await worker.store.images.tag(byTsbuild, indexDigest);
    const pushed = await pushImage(worker, byTsbuild);
    assert.is(pushed.digest, indexDigest);
    assert.is(await remoteDigest(byTsbuild), indexDigest);
    await skopeo("copy", "-q", "--all", "--src-tls-verify=false", `docker://${byTsbuild}`, `oci:${join(dir, "multi-layout")}:all`);
    const otherOnly = JSON.parse(await skopeo("inspect", "--raw", "--tls-verify=false", `docker://${registry.domain}/multi@${otherManifest.digest}`)) as { config: { digest: string } };
    assert.ok(otherOnly.config.digest.startsWith("sha256:"));

    // The pulled copy holds only the host's manifest: pushing it whole needs the others in the
    // target repository (they are: same repository), else a clear error.
    const again = `${registry.domain}/multi:again`;
    await target.store.images.tag(again, pulled.digest);
    assert.is((await pushImage(target, again)).digest, remote);
    const elsewhere = `${registry.domain}/elsewhere:1`;
    await target.store.images.tag(elsewhere, pulled.digest);
    try {
      await pushImage(target, elsewhere);
      assert.unreachable("pushed an incomplete index");
    } catch (error) {
      assert.match((error as Error).message, /the store lacks manifest "sha256:[0-9a-f]{64}" \(linux\/(arm64|amd64)\) of its index/);
    }
    const single = await pushImage(target, elsewhere, { platform: hostPlatform() });
    assert.is(single.digest, pulled.manifestDigest);
  });
});

test.run();
