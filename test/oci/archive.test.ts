import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, truncate, writeFile, chmod, symlink, unlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable, Writable } from "node:stream";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";
import * as tar from "tar";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { isTsbuildError, type ErrorCode } from "../../errors.js";
import { readImageArchive, type ArchiveContents } from "../../oci/archive-reader.js";
import { writeImageArchive, type ArchiveImage } from "../../oci/archive-writer.js";
import { normalizeReference } from "../../oci/reference.js";

const run = promisify(execFile);

/** Runs `fn` with a fresh temp directory, removed however `fn` ends. */
async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), "tsbuild-archive-test-"));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function sha256(data: Uint8Array): string {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

async function streamDigest(stream: Readable): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of stream) hash.update(chunk as Buffer);
  return `sha256:${hash.digest("hex")}`;
}

interface TinyLayer {
  tar: Buffer;
  gzip: Buffer;
  diffID: string;
  digest: string;
}

interface TinyImage {
  image: ArchiveImage;
  config: Buffer;
  configDigest: string;
  manifest: Buffer;
  manifestDigest: string;
  layers: TinyLayer[];
}

/** Packs a directory tree (given as path → content) into an uncompressed tar, as a layer. */
async function layerTar(root: string, files: Record<string, string>): Promise<Buffer> {
  await mkdir(root, { recursive: true });
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(root, path, ".."), { recursive: true });
    await writeFile(join(root, path), content);
    if (path.endsWith(".sh")) await chmod(join(root, path), 0o755);
  }
  const chunks: Buffer[] = [];
  const stream = tar.c({ cwd: root, portable: true, mtime: new Date(0) }, Object.keys(files).sort());
  for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

/** A two-layer image made by hand: layer tars from temp dirs, gzipped, a config and a manifest. */
async function tinyImage(dir: string, names: string[]): Promise<TinyImage> {
  const tars = [
    await layerTar(join(dir, "layer1"), { "hello.txt": "hello from layer one\n", "etc/motd": "tiny\n" }),
    await layerTar(join(dir, "layer2"), { "hello.txt": "hello from layer two\n", "app/run.sh": "#!/bin/sh\necho run\n" }),
  ];
  const layers = tars.map((data): TinyLayer => {
    const gzip = gzipSync(data);
    return { tar: data, gzip, diffID: sha256(data), digest: sha256(gzip) };
  });
  const config = Buffer.from(
    JSON.stringify({
      architecture: "amd64",
      os: "linux",
      config: { Cmd: ["/app/run.sh"], Env: ["PATH=/usr/bin:/bin"] },
      rootfs: { type: "layers", diff_ids: layers.map((layer) => layer.diffID) },
      history: [{ created_by: "layer one" }, { created_by: "layer two" }],
    }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: sha256(config), size: config.length },
      layers: layers.map((layer) => ({
        mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
        digest: layer.digest,
        size: layer.gzip.length,
      })),
    }),
  );
  const image: ArchiveImage = {
    names,
    config,
    manifest,
    layers: layers.map((layer) => ({
      digest: layer.digest as `sha256:${string}`,
      mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
      size: layer.gzip.length,
      open: () => Readable.from([layer.gzip]),
    })),
  };
  return { image, config, configDigest: sha256(config), manifest, manifestDigest: sha256(manifest), layers };
}

function chunked(data: Buffer, size: number): Buffer[] {
  const chunks: Buffer[] = [];
  for (let at = 0; at < data.length; at += size) chunks.push(data.subarray(at, at + size));
  return chunks;
}

/** Writes an OCI image layout directory by hand (no tsbuild code), for skopeo to copy from. */
async function ociLayoutDir(dir: string, tiny: TinyImage, tag: string): Promise<void> {
  await mkdir(join(dir, "blobs", "sha256"), { recursive: true });
  const blobs = [tiny.config, tiny.manifest, ...tiny.layers.map((layer) => layer.gzip)];
  for (const blob of blobs) await writeFile(join(dir, "blobs", "sha256", sha256(blob).slice(7)), blob);
  await writeFile(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  const index = {
    schemaVersion: 2,
    manifests: [
      {
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        digest: tiny.manifestDigest,
        size: tiny.manifest.length,
        annotations: { "org.opencontainers.image.ref.name": tag },
      },
    ],
  };
  await writeFile(join(dir, "index.json"), JSON.stringify(index));
}

async function skopeoJson(args: string[]): Promise<Record<string, unknown>> {
  const { stdout } = await run("skopeo", ["--insecure-policy", ...args], { maxBuffer: 64 * 1024 * 1024 });
  return JSON.parse(stdout) as Record<string, unknown>;
}

/** Unpacks an archive with node-tar into `dir` (the test's own view of what was written). */
async function untar(file: string, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await tar.x({ file, cwd: dir });
}

/** Packs `dir` back into a tar as `tar -C dir -cf file .` does, with a "./" member first. */
async function retar(dir: string, file: string): Promise<void> {
  await tar.c({ file, cwd: dir, portable: true }, ["."]);
}

/** A tar made header by header, to say exactly what a hostile archive holds. */
function rawTar(entries: { path: string; type?: "File" | "SymbolicLink" | "Link" | "FIFO"; data?: string; linkpath?: string }[]): Buffer {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const data = Buffer.from(entry.data ?? "");
    const header = new tar.Header({
      path: entry.path,
      type: entry.type ?? "File",
      mode: 0o644,
      size: entry.type === undefined || entry.type === "File" ? data.length : 0,
      mtime: new Date(0),
      linkpath: entry.linkpath,
    });
    const block = Buffer.alloc(512);
    header.encode(block, 0);
    blocks.push(block);
    if (entry.type === undefined || entry.type === "File") {
      blocks.push(data, Buffer.alloc((512 - (data.length % 512)) % 512));
    }
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

/** Reads an archive that must fail with `code`; proves nothing stays behind in the temp dir. */
async function assertReadFails(
  source: string | Readable,
  code: ErrorCode,
  message: RegExp,
  tempDir: string,
  options: { signal?: AbortSignal } = {},
): Promise<void> {
  await mkdir(tempDir, { recursive: true });
  let contents: ArchiveContents | undefined;
  try {
    contents = await readImageArchive(source, { tempDir, ...options });
  } catch (error) {
    assert.ok(isTsbuildError(error, code), `expected ${code}, got ${error instanceof Error ? error.stack : String(error)}`);
    assert.match((error as Error).message, message);
    assert.equal(await readdir(tempDir), [], "the extraction directory is removed");
    return;
  } finally {
    await contents?.dispose();
  }
  assert.unreachable(`reading ${typeof source === "string" ? source : "the stream"} should have failed with ${code}`);
}

test("an OCI archive written by tsbuild is read by skopeo with the same manifest, config and layers", async () => {
  await withTempDir(async (dir) => {
    const tiny = await tinyImage(dir, ["example.com/team/app:1.0"]);
    const file = join(dir, "app.oci.tar");
    await writeImageArchive(file, [tiny.image], { format: "oci" });

    const inspected = await skopeoJson(["inspect", `oci-archive:${file}:1.0`]);
    assert.is(inspected.Digest, tiny.manifestDigest);
    assert.equal(inspected.Layers, tiny.layers.map((layer) => layer.digest));
    assert.is(inspected.Architecture, "amd64");
    const config = await skopeoJson(["inspect", "--config", `oci-archive:${file}:1.0`]);
    assert.equal((config.rootfs as { diff_ids: string[] }).diff_ids, tiny.layers.map((layer) => layer.diffID));
  });
});

test("a docker archive written by tsbuild is read by skopeo, and its layers unpack with umoci", async () => {
  await withTempDir(async (dir) => {
    const tiny = await tinyImage(dir, ["team/app:1.0"]);
    const file = join(dir, "app.docker.tar");
    await writeImageArchive(file, [tiny.image], { format: "docker" });

    // skopeo's docker-archive transport serves layers uncompressed, so it names them by diff id.
    const inspected = await skopeoJson(["inspect", `docker-archive:${file}`]);
    assert.equal(inspected.Layers, tiny.layers.map((layer) => layer.diffID));
    const config = await skopeoJson(["inspect", "--config", `docker-archive:${file}`]);
    assert.equal(config.config, { Cmd: ["/app/run.sh"], Env: ["PATH=/usr/bin:/bin"] });
    const raw = await skopeoJson(["inspect", "--raw", `docker-archive:${file}:team/app:1.0`]);
    assert.is((raw.config as { digest: string }).digest, tiny.configDigest);
    // The docker format is also an OCI layout, as docker 25+ writes it.
    const asOci = await skopeoJson(["inspect", `oci-archive:${file}:1.0`]);
    assert.is(asOci.Digest, tiny.manifestDigest);

    const layout = join(dir, "layout");
    await run("skopeo", ["--insecure-policy", "copy", `docker-archive:${file}`, `oci:${layout}:copied`]);
    const bundle = join(dir, "bundle");
    await run("umoci", ["unpack", "--image", `${layout}:copied`, bundle]);
    const rootfs = join(bundle, "rootfs");
    assert.is(await readFile(join(rootfs, "hello.txt"), "utf8"), "hello from layer two\n");
    assert.is(await readFile(join(rootfs, "etc/motd"), "utf8"), "tiny\n");
    assert.is(await readFile(join(rootfs, "app/run.sh"), "utf8"), "#!/bin/sh\necho run\n");
    assert.ok(((await stat(join(rootfs, "app/run.sh"))).mode & 0o111) !== 0, "run.sh keeps its execute bit");
  });
});

test("archives written by tsbuild read back with their names, config, manifest and layers", async () => {
  await withTempDir(async (dir) => {
    const tiny = await tinyImage(dir, ["team/app:1.0", "team/app:latest"]);
    for (const format of ["docker", "oci"] as const) {
      const file = join(dir, `app.${format}.tar`);
      await writeImageArchive(file, [tiny.image], { format });
      const contents = await readImageArchive(file, { tempDir: dir });
      try {
        assert.is(contents.format, format);
        assert.is(contents.images.length, 1);
        const [image] = contents.images;
        if (format === "docker") assert.equal(image.names, ["team/app:1.0", "team/app:latest"]);
        else assert.equal(image.names, ["docker.io/team/app:1.0", "docker.io/team/app:latest"]);
        if (format === "oci") assert.equal(image.refNames, ["1.0", "latest"]);
        assert.is(image.config.digest, tiny.configDigest);
        assert.ok(image.config.bytes.equals(tiny.config));
        assert.is(image.manifest?.digest, tiny.manifestDigest);
        assert.equal(image.platform, { architecture: "amd64", os: "linux" });
        assert.equal(
          image.layers.map((layer) => [layer.digest, layer.diffID, layer.mediaType, layer.size]),
          tiny.layers.map((layer) => [layer.digest, layer.diffID, "application/vnd.oci.image.layer.v1.tar+gzip", layer.gzip.length]),
        );
        for (const [i, layer] of image.layers.entries()) assert.is(await streamDigest(layer.open()), tiny.layers[i].digest);
      } finally {
        await contents.dispose();
      }
      assert.not.ok(await stat(contents.dir).catch(() => undefined), "dispose removes the extraction directory");
    }
  });
});

test("the same images written twice give the same bytes, with members sorted and mtimes from sourceDateEpoch", async () => {
  await withTempDir(async (dir) => {
    const tiny = await tinyImage(dir, ["app:1"]);
    const first = join(dir, "first.tar");
    const second = join(dir, "second.tar");
    await writeImageArchive(first, [tiny.image], { format: "docker", sourceDateEpoch: 1700000000 });
    await writeImageArchive(second, [tiny.image], { format: "docker", sourceDateEpoch: 1700000000 });
    assert.ok((await readFile(first)).equals(await readFile(second)));

    const listed: { path: string; mtime: number | undefined; uid: number | undefined; uname: string | undefined }[] = [];
    await tar.t({ file: first, onReadEntry: (entry) => listed.push({ path: entry.path, mtime: entry.mtime?.getTime(), uid: entry.uid, uname: entry.uname }) });
    const paths = listed.map((entry) => entry.path);
    assert.equal(paths, [...paths].sort());
    assert.ok(paths.includes("manifest.json") && paths.includes("index.json") && paths.includes("repositories"));
    assert.ok(listed.every((entry) => entry.mtime === 1700000000 * 1000 && entry.uid === 0 && !entry.uname));
  });
});

test("a gzip-compressed archive is read from a stream, and an archive is written to a stream", async () => {
  await withTempDir(async (dir) => {
    const tiny = await tinyImage(dir, ["app:1"]);
    const chunks: Buffer[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        chunks.push(chunk);
        done();
      },
    });
    await writeImageArchive(sink, [tiny.image], { format: "docker" });
    const compressed = gzipSync(Buffer.concat(chunks));
    const contents = await readImageArchive(Readable.from([compressed]), { tempDir: dir });
    try {
      assert.is(contents.format, "docker");
      assert.equal(contents.images[0].names, ["app:1"]);
      assert.equal(contents.images[0].layers.map((layer) => layer.digest), tiny.layers.map((layer) => layer.digest));
    } finally {
      await contents.dispose();
    }
  });
});

test("a layer shared by two images is written once", async () => {
  await withTempDir(async (dir) => {
    const tiny = await tinyImage(dir, ["app:1"]);
    const file = join(dir, "two.tar");
    await writeImageArchive(file, [tiny.image, { ...tiny.image, names: ["app:2"] }], { format: "oci" });
    const listed: string[] = [];
    await tar.t({ file, onReadEntry: (entry) => listed.push(entry.path) });
    assert.is(listed.filter((path) => path.endsWith(tiny.layers[0].digest.slice(7))).length, 1);
    const contents = await readImageArchive(file, { tempDir: dir });
    try {
      assert.is(contents.images.length, 1, "one manifest, reached by two index entries");
      assert.equal(contents.images[0].refNames, ["1", "2"]);
    } finally {
      await contents.dispose();
    }
  });
});

test("archives written by skopeo from an OCI layout are read with the same config and layers", async () => {
  await withTempDir(async (dir) => {
    const tiny = await tinyImage(dir, []);
    const layout = join(dir, "layout");
    await ociLayoutDir(layout, tiny, "1.0");
    const dockerFile = join(dir, "skopeo.docker.tar");
    const ociFile = join(dir, "skopeo.oci.tar");
    await run("skopeo", ["--insecure-policy", "copy", `oci:${layout}:1.0`, `docker-archive:${dockerFile}:example/app:1.0`]);
    await run("skopeo", ["--insecure-policy", "copy", `oci:${layout}:1.0`, `oci-archive:${ociFile}:1.0`]);

    const docker = await readImageArchive(dockerFile, { tempDir: dir });
    try {
      assert.is(docker.format, "docker");
      const [image] = docker.images;
      assert.equal(image.names.map(normalizeReference), ["docker.io/example/app:1.0"]);
      assert.is(image.config.digest, tiny.configDigest);
      // skopeo stores docker-archive layers uncompressed: their digest is their diff id.
      assert.equal(image.layers.map((layer) => [layer.digest, layer.diffID]), tiny.layers.map((layer) => [layer.diffID, layer.diffID]));
      for (const [i, layer] of image.layers.entries()) assert.ok((await readFile(layer.path)).equals(tiny.layers[i].tar));
    } finally {
      await docker.dispose();
    }

    const oci = await readImageArchive(ociFile, { tempDir: dir });
    try {
      assert.is(oci.format, "oci");
      const [image] = oci.images;
      assert.equal(image.refNames, ["1.0"]);
      assert.is(image.config.digest, tiny.configDigest);
      assert.is(image.manifest?.digest, tiny.manifestDigest);
      assert.equal(image.layers.map((layer) => [layer.digest, layer.diffID]), tiny.layers.map((layer) => [layer.digest, layer.diffID]));
    } finally {
      await oci.dispose();
    }
  });
});

test("an OCI archive with a multi-platform index yields its images, skipping attestations and absent platforms", async () => {
  await withTempDir(async (dir) => {
    const tiny = await tinyImage(dir, []);
    const layout = join(dir, "layout");
    await ociLayoutDir(layout, tiny, "unused");
    const put = async (data: Buffer): Promise<string> => {
      await writeFile(join(layout, "blobs", "sha256", sha256(data).slice(7)), data);
      return sha256(data);
    };
    const statement = Buffer.from('{"_type":"https://in-toto.io/Statement/v0.1"}');
    const attestationConfig = Buffer.from('{"architecture":"unknown","os":"unknown","rootfs":{"type":"layers","diff_ids":["' + sha256(statement) + '"]}}');
    const attestation = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: await put(attestationConfig), size: attestationConfig.length },
        layers: [{ mediaType: "application/vnd.in-toto+json", digest: await put(statement), size: statement.length }],
      }),
    );
    const manifestType = "application/vnd.oci.image.manifest.v1+json";
    const nested = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.index.v1+json",
        manifests: [
          { mediaType: manifestType, digest: tiny.manifestDigest, size: tiny.manifest.length, platform: { architecture: "amd64", os: "linux" } },
          { mediaType: manifestType, digest: sha256(Buffer.from("absent")), size: 6, platform: { architecture: "arm64", os: "linux" } },
          {
            mediaType: manifestType,
            digest: await put(attestation),
            size: attestation.length,
            platform: { architecture: "unknown", os: "unknown" },
            annotations: { "vnd.docker.reference.type": "attestation-manifest", "vnd.docker.reference.digest": tiny.manifestDigest },
          },
        ],
      }),
    );
    const top = {
      mediaType: "application/vnd.oci.image.index.v1+json",
      digest: await put(nested),
      size: nested.length,
      annotations: { "io.containerd.image.name": "docker.io/team/app:1.0", "org.opencontainers.image.ref.name": "1.0" },
    };
    await writeFile(join(layout, "index.json"), JSON.stringify({ schemaVersion: 2, manifests: [top] }));
    const file = join(dir, "multi.tar");
    await retar(layout, file);

    const contents = await readImageArchive(file, { tempDir: dir });
    try {
      assert.equal(
        contents.images.map((image) => [image.manifest?.digest, image.names, image.refNames, image.platform.architecture]),
        [[tiny.manifestDigest, ["docker.io/team/app:1.0"], ["1.0"], "amd64"]],
      );
    } finally {
      await contents.dispose();
    }
  });
});

test("a classic docker save layout with a linked repeated layer and a gzip layer.tar is read", async () => {
  await withTempDir(async (dir) => {
    const tiny = await tinyImage(dir, []);
    const stage = join(dir, "stage");
    await mkdir(join(stage, "aaa"), { recursive: true });
    await mkdir(join(stage, "bbb"), { recursive: true });
    const config = JSON.parse(tiny.config.toString()) as { rootfs: { diff_ids: string[] } };
    // Three layers, the third a repeat of the first, as docker save writes it: a symlink.
    config.rootfs.diff_ids.push(tiny.layers[0].diffID);
    const configBytes = Buffer.from(JSON.stringify(config));
    const configName = `${sha256(configBytes).slice(7)}.json`;
    await writeFile(join(stage, configName), configBytes);
    await writeFile(join(stage, "aaa", "layer.tar"), tiny.layers[0].tar);
    await writeFile(join(stage, "bbb", "layer.tar"), tiny.layers[1].gzip);
    await mkdir(join(stage, "ccc"));
    await symlink("../aaa/layer.tar", join(stage, "ccc", "layer.tar"));
    const manifest = [{ Config: configName, RepoTags: ["old:save"], Layers: ["aaa/layer.tar", "bbb/layer.tar", "ccc/layer.tar"] }];
    await writeFile(join(stage, "manifest.json"), JSON.stringify(manifest));
    await writeFile(join(stage, "repositories"), JSON.stringify({ old: { save: "ccc" } }));
    const file = join(dir, "classic.tar");
    await retar(stage, file);

    const contents = await readImageArchive(file, { tempDir: dir });
    try {
      const [image] = contents.images;
      assert.equal(image.names, ["old:save"]);
      assert.equal(
        image.layers.map((layer) => [layer.digest, layer.diffID, layer.mediaType]),
        [
          [tiny.layers[0].diffID, tiny.layers[0].diffID, "application/vnd.oci.image.layer.v1.tar"],
          [tiny.layers[1].digest, tiny.layers[1].diffID, "application/vnd.oci.image.layer.v1.tar+gzip"],
          [tiny.layers[0].diffID, tiny.layers[0].diffID, "application/vnd.oci.image.layer.v1.tar"],
        ],
      );
      assert.is(image.manifest, undefined);
    } finally {
      await contents.dispose();
    }

    // A config whose content is not the digest its name states is refused.
    await writeFile(join(stage, configName), configBytes.toString().replace("layer one", "layer 1"));
    await retar(stage, file);
    await assertReadFails(file, "DIGEST_MISMATCH", new RegExp(`member "${configName}" has digest`), join(dir, "tmp"));
    await writeFile(join(stage, configName), configBytes);

    // The same layout with a gzip layer whose content is not its diff id is refused.
    await writeFile(join(stage, "bbb", "layer.tar"), gzipSync(Buffer.from("not the layer")));
    await retar(stage, file);
    await assertReadFails(file, "DIGEST_MISMATCH", /member "bbb\/layer\.tar" has diff id/, join(dir, "tmp"));
  });
});

test("bad archives are refused with the member named, and leave nothing in the temp dir", async () => {
  await withTempDir(async (dir) => {
    const tiny = await tinyImage(dir, ["app:1"]);
    const good = join(dir, "good.tar");
    await writeImageArchive(good, [tiny.image], { format: "docker" });
    const tempDir = join(dir, "tmp");
    const layerHex = tiny.layers[1].digest.slice(7);

    // Cut inside a layer, and cut between members near the end (where the tar stays well formed).
    const truncated = join(dir, "truncated.tar");
    for (const size of [Math.floor((await stat(good)).size / 2), (await stat(good)).size - 3000]) {
      await writeFile(truncated, await readFile(good));
      await truncate(truncated, size);
      await assertReadFails(truncated, "INVALID_ARCHIVE", /truncated/i, tempDir);
    }

    const garbage = join(dir, "garbage.tar");
    await writeFile(garbage, randomBytes(8192));
    await assertReadFails(garbage, "INVALID_ARCHIVE", /Invalid image archive/, tempDir);

    await assertReadFails(join(dir, "absent.tar"), "FILE_NOT_FOUND", /file not found/, tempDir);

    const staged = join(dir, "staged");
    await untar(good, staged);
    const tampered = join(dir, "tampered.tar");
    await writeFile(join(staged, "blobs", "sha256", layerHex), gzipSync(Buffer.from("evil")));
    await retar(staged, tampered);
    await assertReadFails(tampered, "DIGEST_MISMATCH", new RegExp(`member "blobs/sha256/${layerHex}" has digest`), tempDir);

    await rm(staged, { recursive: true });
    await untar(good, staged);
    await unlink(join(staged, "blobs", "sha256", layerHex));
    const missing = join(dir, "missing.tar");
    await retar(staged, missing);
    await assertReadFails(missing, "INVALID_ARCHIVE", new RegExp(`member "blobs/sha256/${layerHex}" is missing`), tempDir);

    const manifest = JSON.stringify([{ Config: "c.json", RepoTags: null, Layers: [] }]);
    const hostile: [string, Parameters<typeof rawTar>[0], RegExp][] = [
      ["dotdot", [{ path: "../evil", data: "x" }, { path: "manifest.json", data: manifest }], /member "\.\.\/evil" has an unsafe path/],
      ["inner dotdot", [{ path: "blobs/../../evil", data: "x" }], /member "blobs\/\.\.\/\.\.\/evil" has an unsafe path/],
      ["absolute", [{ path: "/etc/evil", data: "x" }], /member "\/etc\/evil" has an unsafe path/],
      ["escaping symlink", [{ path: "a/layer.tar", type: "SymbolicLink", linkpath: "../../etc/passwd" }], /member "a\/layer\.tar" links outside the archive/],
      ["absolute symlink", [{ path: "layer.tar", type: "SymbolicLink", linkpath: "/etc/passwd" }], /links to absolute path "\/etc\/passwd"/],
      ["fifo", [{ path: "pipe", type: "FIFO" }], /member "pipe" is a FIFO/],
      ["repeated member", [{ path: "manifest.json", data: manifest }, { path: "manifest.json", data: manifest }], /member "manifest\.json" appears twice/],
      ["no index", [{ path: "hello.txt", data: "hi" }], /neither "manifest\.json"/],
    ];
    for (const [name, entries, message] of hostile) {
      const file = join(dir, `${name.replace(/ /g, "-")}.tar`);
      await writeFile(file, rawTar(entries));
      await assertReadFails(file, "INVALID_ARCHIVE", message, tempDir);
      await assertReadFails(Readable.from([rawTar(entries)]), "INVALID_ARCHIVE", message, tempDir);
    }
    assert.not.ok(await stat(join(dir, "..", "evil")).catch(() => undefined), "nothing was written outside");
  });
});

test("a docker archive whose layer count differs from the config's diff_ids is refused", async () => {
  await withTempDir(async (dir) => {
    const tiny = await tinyImage(dir, ["app:1"]);
    const good = join(dir, "good.tar");
    await writeImageArchive(good, [tiny.image], { format: "docker" });
    const staged = join(dir, "staged");
    await untar(good, staged);
    const manifest = JSON.parse(await readFile(join(staged, "manifest.json"), "utf8")) as { Layers: string[] }[];
    manifest[0].Layers.pop();
    await writeFile(join(staged, "manifest.json"), JSON.stringify(manifest));
    const file = join(dir, "short.tar");
    await retar(staged, file);
    await assertReadFails(file, "INVALID_ARCHIVE", /image 0 lists 1 layers but its config has 2 diff ids/, join(dir, "tmp"));
  });
});

test("a layer of several megabytes streams through writer and reader intact", async () => {
  await withTempDir(async (dir) => {
    const big = await layerTar(join(dir, "big"), { "data.bin": randomBytes(6 * 1024 * 1024).toString("base64") });
    const gzip = gzipSync(big);
    const config = Buffer.from(JSON.stringify({ architecture: "arm64", variant: "v8", os: "linux", rootfs: { type: "layers", diff_ids: [sha256(big)] } }));
    const image: ArchiveImage = {
      names: ["big:1"],
      config,
      layers: [{ digest: sha256(gzip) as `sha256:${string}`, mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", size: gzip.length, open: () => Readable.from(chunked(gzip, 65536)) }],
    };
    const file = join(dir, "big.tar");
    await writeImageArchive(file, [image], { format: "docker" });
    const contents = await readImageArchive(file, { tempDir: dir });
    try {
      const [read] = contents.images;
      assert.is(read.manifest, undefined, "without a manifest the docker format has no index");
      assert.equal(read.platform, { architecture: "arm64", os: "linux", variant: "v8" });
      assert.is(read.layers[0].digest, sha256(gzip));
      assert.is(read.layers[0].diffID, sha256(big));
      assert.is(await streamDigest(read.layers[0].open()), sha256(gzip));
    } finally {
      await contents.dispose();
    }
  });
});

test("reading and writing stop with CANCELLED when their signal aborts, leaving nothing behind", async () => {
  await withTempDir(async (dir) => {
    const tiny = await tinyImage(dir, ["app:1"]);
    const file = join(dir, "app.tar");
    await writeImageArchive(file, [tiny.image], { format: "oci" });
    await assertReadFails(file, "CANCELLED", /cancelled/, join(dir, "tmp"), { signal: AbortSignal.abort() });

    const controller = new AbortController();
    // The second layer never ends on its own; only the abort can end the write.
    const endless = { ...tiny.image.layers[1], open: () => new Readable({ read() {} }) };
    const out = join(dir, "never.tar");
    const writing = writeImageArchive(out, [{ ...tiny.image, layers: [tiny.image.layers[0], endless] }], { format: "oci", signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    try {
      await writing;
      assert.unreachable("the write should be cancelled");
    } catch (error) {
      assert.ok(isTsbuildError(error, "CANCELLED"), String(error));
    }
    assert.equal((await readdir(dir)).filter((name) => name.startsWith("never.tar")), []);
  });
});

test("a layer whose stream does not match its digest fails the write and leaves no file", async () => {
  await withTempDir(async (dir) => {
    const tiny = await tinyImage(dir, ["app:1"]);
    const [first, second] = tiny.image.layers;
    const lying = { ...second, open: () => Readable.from([gzipSync(Buffer.from("something else entirely, same length?"))]) };
    const file = join(dir, "out.tar");
    try {
      await writeImageArchive(file, [{ ...tiny.image, layers: [first, lying] }], { format: "oci" });
      assert.unreachable("the write should fail");
    } catch (error) {
      assert.ok(isTsbuildError(error, "DIGEST_MISMATCH"), String(error));
      assert.match((error as Error).message, second.digest);
    }
    assert.equal((await readdir(dir)).filter((name) => name.startsWith("out.tar")), []);
  });
});

test.run();
