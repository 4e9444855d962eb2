import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { build } from "../../build/build.js";
import { createImageIndex, parseImageIndex, serializeJson, type ImageConfig, type ImageIndex } from "../../oci/image-types.js";
import { digestOf } from "../../oci/digest.js";
import { OCI_MEDIA_TYPES } from "../../oci/media-types.js";
import { pullImage } from "../../registry/pull-image.js";
import type { ProgressEvent } from "../../solver/types.js";
import { importRootfs } from "../../worker/import-rootfs.js";
import { resolveImage } from "../../worker/resolve-image.js";
import { openWorker, type Worker as RootWorker } from "../../worker/worker.js";
import { arm64BusyboxTar } from "../helpers/arm64-busybox.js";
import { startRegistry } from "../registry/registry-fixture.js";
import { withBuildRoot, type BuildRoot } from "../solver/build-fixture.js";

const run = promisify(execFile);
const BOTH = ["linux/amd64", "linux/arm64"];

/**
 * A build root whose `busybox:latest` is a multi-platform image, as on Docker Hub: an index
 * over the amd64 busybox the build tests import and an arm64 one from Debian's arm64
 * busybox-static (a fixed date, so two roots hold the same index).
 */
async function withMultiPlatformRoot<T>(fn: (root: BuildRoot, images: RootWorker) => Promise<T>): Promise<T> {
  return withBuildRoot(async (root) => {
    const images = await openWorker({ root: join(root.dir, "root") });
    const arm64 = await importRootfs(images, await arm64BusyboxTar(), {
      name: "busybox-arm64:latest",
      platform: { os: "linux", architecture: "arm64" },
      created: new Date("2020-01-01T00:00:00Z"),
    });
    const amd64 = await resolveImage(images.store, "busybox:latest");
    const manifests = await Promise.all(
      [
        { digest: amd64.manifestDigest, architecture: "amd64" },
        { digest: arm64.manifestDigest, architecture: "arm64" },
      ].map(async ({ digest, architecture }) => ({
        mediaType: OCI_MEDIA_TYPES.manifest,
        digest,
        size: (await images.store.content.stat(digest))!.size,
        platform: { os: "linux", architecture },
      })),
    );
    const index = serializeJson(createImageIndex(manifests));
    const written = await images.store.content.write(index);
    await images.store.images.tag("busybox:latest", written.digest);
    return fn(root, images);
  });
}

/** Every line a step logged, with the step's name. */
function logLines(events: ProgressEvent[]): string[] {
  return events.flatMap((event) => (event.type === "vertex-log" ? event.data.toString("utf8").trim().split("\n").map((line) => `${event.name}: ${line}`) : []));
}

test("an arm64 build runs its steps under emulation: uname -m prints aarch64, the platform args say arm64, the image is arm64", async () => {
  await withMultiPlatformRoot(async (root, images) => {
    const context = join(root.dir, "arm");
    await mkdir(context);
    await writeFile(join(context, "Dockerfile"), 'FROM busybox\nARG TARGETPLATFORM TARGETARCH BUILDPLATFORM\nRUN echo "$(uname -m) $TARGETPLATFORM $TARGETARCH $BUILDPLATFORM"\n');
    const events: ProgressEvent[] = [];
    const result = await build({ context, worker: root.worker, platform: "linux/arm64", tags: ["app:arm"], onProgress: (event) => events.push(event) });
    assert.equal(logLines(events), ['[2/2] RUN echo "$(uname -m) linux/arm64 arm64 linux/amd64": aarch64 linux/arm64 arm64 linux/amd64']);
    assert.is(result.config.architecture, "arm64");
    assert.is(result.manifest.mediaType, OCI_MEDIA_TYPES.manifest, "one platform makes one image, not an index");
    assert.is((await resolveImage(images.store, "app:arm")).config.architecture, "arm64");

    // The platform is in every key: the same Dockerfile for amd64 runs again, for arm64 it is cached.
    const amd = await build({ context, worker: root.worker, platform: "linux/amd64" });
    const runs = (steps: typeof amd.steps) => steps.filter((step) => step.name.includes("RUN")).map((step) => step.status);
    assert.equal(runs(amd.steps), ["done"]);
    const again = await build({ context, worker: root.worker, platform: "linux/arm64" });
    assert.equal(runs(again.steps), ["cached"]);
    assert.is(again.imageId, result.imageId);
  });
});

test("the cross-compiling fixture: its FROM --platform=$BUILDPLATFORM builder runs natively (once where it is the same for both), each platform's stage runs its own architecture", async () => {
  await withMultiPlatformRoot(async (root) => {
    const context = await root.fixture("cross-compile");
    const dest = join(root.dir, "out");
    const result = await build({ context, worker: root.worker, platform: BOTH, tags: ["cross:1"], output: { type: "local", dest } });
    const read = (platform: string, file: string) => readFile(join(dest, platform, file), "utf8");
    for (const platform of ["linux_amd64", "linux_arm64"]) assert.is(await read(platform, "builder-arch"), "x86_64\n", `${platform}'s builder ran natively`);
    assert.is(await read("linux_amd64", "program"), "compiled on x86_64 for amd64: hello from the build context\n");
    assert.is(await read("linux_arm64", "program"), "compiled on x86_64 for arm64: hello from the build context\n");
    assert.is(await read("linux_amd64", "runtime-arch"), "x86_64\n");
    assert.is(await read("linux_arm64", "runtime-arch"), "aarch64\n");
    // The builder's steps that do not read TARGETARCH once (its COPY too), the one that does per platform, the final RUN per platform.
    assert.is(root.runs(), 5);
    const ran = result.steps.filter((step) => step.status === "done" && !step.name.includes("] FROM ")).map((step) => step.name).sort();
    assert.equal(ran, [
      "[linux/amd64 builder 2/4] RUN uname -m > /builder-arch",
      '[linux/amd64 builder 4/4] RUN echo "compiled on $(uname -m) for amd64: $(cat /src/hello.txt)" > /program',
      '[linux/amd64 builder 4/4] RUN echo "compiled on $(uname -m) for arm64: $(cat /src/hello.txt)" > /program',
      "[linux/amd64 builder 3/4] COPY hello.txt /src/hello.txt",
      "[linux/amd64 stage-1 2/3] COPY --from=builder /builder-arch /program /",
      "[linux/amd64 stage-1 3/3] RUN uname -m > /runtime-arch",
      "[linux/arm64 stage-1 2/3] COPY --from=builder /builder-arch /program /",
      "[linux/arm64 stage-1 3/3] RUN uname -m > /runtime-arch",
    ].sort());
    assert.is(result.manifest.mediaType, OCI_MEDIA_TYPES.index);
    assert.equal(result.platforms?.map((p) => [p.platform, p.config.architecture]), [["linux/amd64", "amd64"], ["linux/arm64", "arm64"]]);
  });
});

test("both platforms into one tag, pushed: skopeo reads an index of two manifests whose configs name their architectures; pull --platform takes one", async () => {
  const dir = await mkdtemp(join(tmpdir(), "tsb-multi-push-"));
  const registry = await startRegistry(dir);
  try {
    const name = `${registry.domain}/multi/app:1`;
    let pushedDigest: string | undefined;
    await withMultiPlatformRoot(async (root) => {
      const context = await root.fixture("cross-compile");
      const result = await build({ context, worker: root.worker, platform: BOTH, tags: [name], push: true, registry: { insecureRegistries: [registry.domain] } });
      // The registry's index names manifests with compressed layers: a digest of its own, the one the push reports.
      pushedDigest = result.pushed?.[0].digest;
      assert.ok(pushedDigest !== undefined && pushedDigest !== result.manifestDigest);
    });
    const skopeo = async (...args: string[]) => (await run("skopeo", ["inspect", "--tls-verify=false", ...args])).stdout;
    const raw = await skopeo("--raw", `docker://${name}`);
    assert.is(digestOf(raw), pushedDigest);
    const index = parseImageIndex(raw);
    assert.is(index.mediaType, OCI_MEDIA_TYPES.index);
    assert.is(index.manifests.length, 2);
    for (const entry of index.manifests) {
      const config = JSON.parse(await skopeo("--config", "--raw", `docker://${registry.domain}/multi/app@${entry.digest}`)) as ImageConfig;
      assert.is(config.architecture, entry.platform?.architecture);
      assert.is(config.os, "linux");
    }
    assert.equal(index.manifests.map((entry) => entry.platform?.architecture).sort(), ["amd64", "arm64"]);

    await withBuildRoot(async (root) => {
      const images = await openWorker({ root: join(root.dir, "root") });
      const pulled = await pullImage(images, name, { platform: { os: "linux", architecture: "arm64" }, insecureRegistries: [registry.domain] });
      assert.is((await resolveImage(images.store, name, { platform: { os: "linux", architecture: "arm64" } })).config.architecture, "arm64");
      assert.is(pulled.digest, digestOf(await skopeo("--raw", `docker://${name}`)));
    });

    // A build FROM the pushed index, for arm64 in a root that lacks it: that platform's manifest is resolved, its layers pulled when the RUN needs them.
    await withBuildRoot(async (root) => {
      const context = join(root.dir, "from-index");
      await mkdir(context);
      await writeFile(join(context, "Dockerfile"), `FROM ${name}\nRUN cat /runtime-arch && uname -m\n`);
      const events: ProgressEvent[] = [];
      const result = await build({ context, worker: root.worker, platform: "linux/arm64", onProgress: (event) => events.push(event) });
      assert.equal(logLines(events).map((line) => line.slice(line.lastIndexOf(": ") + 2)), ["aarch64", "aarch64"]);
      assert.is(result.config.architecture, "arm64");
    });
  } finally {
    await registry.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

test("a multi-platform build is reproducible: two roots, the same index digest under SOURCE_DATE_EPOCH", async () => {
  const digests: string[] = [];
  for (let i = 0; i < 2; i++) {
    await withMultiPlatformRoot(async (root) => {
      const context = await root.fixture("cross-compile");
      const result = await build({ context, worker: root.worker, platform: BOTH, buildArgs: { SOURCE_DATE_EPOCH: "1700000000" } });
      digests.push(result.imageId);
    });
  }
  assert.is(digests[0], digests[1]);
});

test("--output type=oci writes the index with both images, and an exported cache holds both platforms' steps", async () => {
  await withMultiPlatformRoot(async (root) => {
    const context = await root.fixture("cross-compile");
    const archive = join(root.dir, "multi.tar");
    const cacheDir = join(root.dir, "cache");
    await build({ context, worker: root.worker, platform: BOTH, output: { type: "oci", dest: archive }, cacheTo: [{ type: "local", dir: cacheDir }] });
    const member = async (path: string) => (await run("tar", ["-xOf", archive, path], { maxBuffer: 1 << 26 })).stdout;
    const top = JSON.parse(await member("index.json")) as ImageIndex;
    assert.is(top.manifests.length, 1);
    assert.is(top.manifests[0].mediaType, OCI_MEDIA_TYPES.index);
    const index = parseImageIndex(await member(`blobs/sha256/${top.manifests[0].digest.slice(7)}`));
    for (const entry of index.manifests) {
      const manifest = JSON.parse(await member(`blobs/sha256/${entry.digest.slice(7)}`)) as { config: { digest: string } };
      const config = JSON.parse(await member(`blobs/sha256/${manifest.config.digest.slice(7)}`)) as ImageConfig;
      assert.is(config.architecture, entry.platform?.architecture);
    }
    assert.equal(index.manifests.map((entry) => entry.platform?.architecture), ["amd64", "arm64"]);

    // A fresh root that imports the cache runs nothing: every platform's last step is there.
    await withMultiPlatformRoot(async (fresh) => {
      const again = await build({ context, worker: fresh.worker, platform: BOTH, cacheFrom: [{ type: "local", dir: cacheDir }] });
      const finals = again.steps.filter((step) => step.name.includes("stage-1 3/3"));
      assert.equal(finals.map((step) => [step.name, step.status]).sort(), [
        ["[linux/amd64 stage-1 3/3] RUN uname -m > /runtime-arch", "cached"],
        ["[linux/arm64 stage-1 3/3] RUN uname -m > /runtime-arch", "cached"],
      ]);
      assert.is(fresh.runs(), 0);
    });
  });
});

test.run();
