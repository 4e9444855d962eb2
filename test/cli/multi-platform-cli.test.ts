import { execFile } from "node:child_process";
import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { test } from "uvu";
import * as assert from "uvu/assert";
import type { ImageIndex } from "../../oci/image-types.js";
import { OCI_MEDIA_TYPES } from "../../oci/media-types.js";
import { arm64BusyboxTar } from "../helpers/arm64-busybox.js";
import { cleanupRoot, mountsUnder } from "../snapshotter/tree-fixtures.js";
import { busyboxTar } from "../worker/worker-fixture.js";
import { runTsbuild } from "./run-tsbuild.js";

const run = promisify(execFile);

/** A root with busybox for amd64 (`bb-amd64`) and arm64 (`bb-arm64`, imported with --platform), and the CLI over it. */
async function withPlatformsRoot(fn: (tsbuild: (args: string[], env?: Record<string, string>) => ReturnType<typeof runTsbuild>, dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "tsb-platform-cli-"));
  try {
    const root = ["--root", join(dir, "root")];
    // --root right after the command: `run` takes everything after the image as its command.
    const tsbuild = (args: string[], env: Record<string, string> = {}) => runTsbuild([args[0], ...root, ...args.slice(1)], dir, { TSBUILD_SNAPSHOTTER: "overlayfs", ...env });
    const arm = await tsbuild(["import", "--platform", "linux/aarch64", await arm64BusyboxTar(), "bb-arm64"]);
    assert.is(arm.stderr, "");
    assert.is((await tsbuild(["import", await busyboxTar(dir), "bb-amd64"])).status, 0);
    await fn(tsbuild, dir);
    assert.equal(await mountsUnder(dir), []);
  } finally {
    await cleanupRoot(dir);
  }
}

test("import --platform records the platform; images shows it; run starts the arm64 image under emulation", async () => {
  await withPlatformsRoot(async (tsbuild) => {
    const images = await tsbuild(["images"]);
    const lines = images.stdout.trimEnd().split("\n");
    assert.match(lines[0], /^REPOSITORY +TAG +IMAGE ID +CREATED +SIZE +PLATFORM$/);
    assert.ok(lines.some((line) => /^bb-arm64 +latest .* linux\/arm64$/.test(line)), images.stdout);
    assert.ok(lines.some((line) => /^bb-amd64 +latest .* linux\/amd64$/.test(line)), images.stdout);
    const inspected = JSON.parse((await tsbuild(["inspect", "bb-arm64"])).stdout) as Array<{ Architecture: string }>;
    assert.is(inspected[0].Architecture, "arm64");
    const uname = await tsbuild(["run", "--rm", "bb-arm64", "uname", "-m"]);
    assert.is(uname.stdout, "aarch64\n", uname.stderr);
  });
});

test("build --platform for two platforms: one tag, images and inspect show both, run --platform picks one, save keeps the index", async () => {
  await withPlatformsRoot(async (tsbuild, dir) => {
    const context = join(dir, "app");
    await mkdir(context);
    await writeFile(join(context, "Dockerfile"), "ARG TARGETARCH\nFROM bb-${TARGETARCH}\nRUN uname -m > /arch\n");
    const built = await tsbuild(["build", "--platform", "linux/amd64,linux/arm64", "-t", "multi:1", "--progress", "plain", context]);
    assert.is(built.status, 0, built.stderr);
    assert.match(built.stderr, /\[linux\/arm64 2\/2\] RUN uname -m > \/arch/);

    const row = (await tsbuild(["images"])).stdout.split("\n").find((line) => line.startsWith("multi "));
    assert.match(row ?? "", / linux\/amd64,linux\/arm64$/);
    const [inspect] = JSON.parse((await tsbuild(["inspect", "multi:1"])).stdout) as Array<{ Architecture: string; Manifests: Array<{ Platform: string; Id: string }> }>;
    assert.is(inspect.Architecture, "amd64", "this host's platform by default");
    assert.equal(inspect.Manifests.map((manifest) => manifest.Platform), ["linux/amd64", "linux/arm64"]);
    const [arm] = JSON.parse((await tsbuild(["inspect", "--platform", "linux/arm64", "multi:1"])).stdout) as Array<{ Architecture: string }>;
    assert.is(arm.Architecture, "arm64");

    assert.is((await tsbuild(["run", "--rm", "multi:1", "cat", "/arch"])).stdout, "x86_64\n");
    assert.is((await tsbuild(["run", "--rm", "--platform", "linux/arm64", "multi:1", "cat", "/arch"])).stdout, "aarch64\n");

    const archive = join(dir, "multi.tar");
    const saved = await tsbuild(["save", "-o", archive, "multi:1"]);
    assert.is(saved.status, 0, saved.stderr);
    const member = async (path: string) => (await run("tar", ["-xOf", archive, path], { maxBuffer: 1 << 26 })).stdout;
    const top = JSON.parse(await member("index.json")) as ImageIndex;
    assert.equal(top.manifests.map((entry) => [entry.mediaType, entry.annotations?.["org.opencontainers.image.ref.name"]]), [[OCI_MEDIA_TYPES.index, "1"]]);
    const index = JSON.parse(await member(`blobs/sha256/${top.manifests[0].digest.slice(7)}`)) as ImageIndex;
    assert.equal(index.manifests.map((entry) => entry.platform?.architecture), ["amd64", "arm64"]);
    for (const entry of index.manifests) await member(`blobs/sha256/${entry.digest.slice(7)}`); // both images are in it
    // docker-archive readers, one image per name: this host's.
    const dockerManifest = JSON.parse(await member("manifest.json")) as Array<{ RepoTags: string[] | null }>;
    assert.equal(dockerManifest.map((entry) => entry.RepoTags), [["multi:1"]]);

    // load keeps it whole: another root gets the index with both platforms.
    const other = ["--root", join(dir, "other-root")];
    const loaded = await runTsbuild(["load", ...other, "-i", archive], dir, { TSBUILD_SNAPSHOTTER: "overlayfs" });
    assert.is(loaded.status, 0, loaded.stderr);
    const [reloaded] = JSON.parse((await runTsbuild(["inspect", ...other, "multi:1"], dir)).stdout) as Array<{ Manifests: Array<{ Platform: string; Id: string }> }>;
    // The same images (ids); their manifests name compressed layers now, as docker's save makes them.
    const platformsOf = (manifests: Array<{ Platform: string; Id: string }>) => manifests.map((manifest) => [manifest.Platform, manifest.Id]);
    assert.equal(platformsOf(reloaded.Manifests), platformsOf(inspect.Manifests));
  });
});

test("a platform without an emulator: a one-line error that names qemu-user-static, for a build step and for run", async () => {
  await withPlatformsRoot(async (tsbuild, dir) => {
    const empty = join(dir, "no-binfmt");
    await mkdir(empty);
    const context = join(dir, "arm");
    await mkdir(context);
    await writeFile(join(context, "Dockerfile"), "FROM bb-arm64\nRUN echo never built before\n");
    const env = { TSBUILD_BINFMT_MISC: empty };
    const built = await tsbuild(["build", "--platform", "linux/arm64", "--progress", "plain", context], env);
    assert.is(built.status, 1);
    assert.match(built.stderr, /Cannot run programs for "linux\/arm64" on this amd64 host: binfmt_misc is not mounted/);
    assert.match(built.stderr, /apt-get install qemu-user-static binfmt-support/);
    assert.not.match(built.stderr, /\n +at /, "no stack trace");
    const ran = await tsbuild(["run", "--rm", "bb-arm64", "true"], env);
    // 125: run failed before its command ran, as docker's.
    assert.is(ran.status, 125);
    assert.match(ran.stderr, /qemu-user-static/);
  });
});

test.run();
