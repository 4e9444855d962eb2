// `node dist/bench/registry-bench.js [--size-mb N] [--layers N]`: push and pull of one large
// image over loopback, tsbuild and skopeo side by side in the same run (each against its own
// fresh registry, so neither finds the other's blobs there). Ratios only mean something
// within one run on these shared machines.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { pathToFileURL } from "node:url";
import { parseArgs, promisify } from "node:util";
import { create } from "tar";
import { createDescriptor, createImageManifest, serializeJson, type Descriptor, type ImageConfig } from "../oci/image-types.js";
import { OCI_MEDIA_TYPES } from "../oci/media-types.js";
import { pullImage } from "../registry/pull-image.js";
import { pushImage } from "../registry/push-image.js";
// The test fixture is the one place that knows how to run the real registry here.
import { startRegistry, type TestRegistry } from "../test/registry/registry-fixture.js";
import { openWorker } from "../worker/worker.js";

export interface RegistryBenchOptions {
  /** Total image size: layers of random (incompressible) content. Default 500. */
  sizeMB?: number;
  /** How many layers the size is split into. Default 5. */
  layers?: number;
  /** Scratch directory; everything is made and removed inside it. */
  workDir?: string;
}

export interface RegistryBenchFigures {
  sizeMB: number;
  layers: number;
  pushSeconds: number;
  skopeoPushSeconds: number;
  pullSeconds: number;
  skopeoPullSeconds: number;
}

const run = promisify(execFile);

/** Times tsbuild's push and pull of one image against skopeo's, on loopback registries. */
export async function benchRegistry(options: RegistryBenchOptions = {}): Promise<RegistryBenchFigures> {
  const sizeMB = options.sizeMB ?? 500;
  const layerCount = options.layers ?? 5;
  const dir = await mkdtemp(join(resolve(options.workDir ?? tmpdir()), "registry-bench-"));
  const registries: TestRegistry[] = [];
  try {
    await mkdir(join(dir, "r1"));
    await mkdir(join(dir, "r2"));
    const ours = await startRegistry(join(dir, "r1"));
    registries.push(ours);
    const theirs = await startRegistry(join(dir, "r2"));
    registries.push(theirs);

    const source = await openWorker({ root: join(dir, "a"), snapshotter: "native" });
    const layers: Descriptor[] = [];
    const diffIds: Descriptor["digest"][] = [];
    for (let i = 0; i < layerCount; i++) {
      const tar = await makeLayerTar(join(dir, `layer-${i}`), Math.ceil((sizeMB * 1024 * 1024) / layerCount));
      const info = await source.store.content.write(createReadStream(tar));
      await rm(tar);
      layers.push({ mediaType: OCI_MEDIA_TYPES.layer, digest: info.digest, size: info.size });
      diffIds.push(info.digest); // uncompressed: the blob is the diff
    }
    const config: ImageConfig = { architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: diffIds }, config: {} };
    const configBytes = serializeJson(config);
    const configDescriptor = createDescriptor(OCI_MEDIA_TYPES.config, configBytes);
    await source.store.content.write(configBytes);
    const manifest = (await source.store.content.write(serializeJson(createImageManifest(configDescriptor, layers)))).digest;
    const name = `${ours.domain}/bench:1`;
    await source.store.images.tag(name, manifest);
    await source.store.images.tag("bench:1", manifest);

    const pushSeconds = await time(() => pushImage(source, name));
    const skopeoPushSeconds = await time(() =>
      run("skopeo", ["copy", "-q", "--dest-tls-verify=false", `oci:${join(source.root, "content")}:docker.io/library/bench:1`, `docker://${theirs.domain}/bench:1`]),
    );
    const target = await openWorker({ root: join(dir, "b"), snapshotter: "native" });
    const pullSeconds = await time(() => pullImage(target, name));
    const skopeoPullSeconds = await time(() => run("skopeo", ["copy", "-q", "--src-tls-verify=false", `docker://${theirs.domain}/bench:1`, `oci:${join(dir, "skopeo-pull")}:bench`]));
    return { sizeMB, layers: layerCount, pushSeconds, skopeoPushSeconds, pullSeconds, skopeoPullSeconds };
  } finally {
    for (const registry of registries) await registry.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/** A tar of one file of `bytes` random bytes (valid, so tools that look inside can). */
async function makeLayerTar(dir: string, bytes: number): Promise<string> {
  await mkdir(join(dir, "root"), { recursive: true });
  const file = createWriteStream(join(dir, "root", "data.bin"));
  const chunk = 4 * 1024 * 1024;
  for (let written = 0; written < bytes; written += chunk) {
    if (!file.write(randomBytes(Math.min(chunk, bytes - written)))) await new Promise<void>((resolve) => file.once("drain", () => resolve()));
  }
  await new Promise<void>((resolve, reject) => file.end((error?: Error | null) => (error ? reject(error) : resolve())));
  const tar = join(dir, "layer.tar");
  await create({ cwd: join(dir, "root"), file: tar, portable: true, mtime: new Date(0) }, ["data.bin"]);
  await rm(join(dir, "root"), { recursive: true });
  return tar;
}

async function time(fn: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await fn();
  return (performance.now() - started) / 1000;
}

/** One line for people: MB/s of each, and how tsbuild compares. */
export function formatRegistryFigures(f: RegistryBenchFigures): string {
  const rate = (seconds: number): string => `${(f.sizeMB / seconds).toFixed(0)} MB/s`;
  return (
    `registry  ${f.sizeMB} MB in ${f.layers} layers: push ${f.pushSeconds.toFixed(2)} s (${rate(f.pushSeconds)}) vs skopeo ${f.skopeoPushSeconds.toFixed(2)} s (${rate(f.skopeoPushSeconds)})` +
    ` | pull ${f.pullSeconds.toFixed(2)} s (${rate(f.pullSeconds)}) vs skopeo ${f.skopeoPullSeconds.toFixed(2)} s (${rate(f.skopeoPullSeconds)})`
  );
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const { values } = parseArgs({ options: { "size-mb": { type: "string" }, layers: { type: "string" }, "work-dir": { type: "string" } } });
  const figures = await benchRegistry({
    sizeMB: Number(values["size-mb"] ?? 500),
    layers: Number(values.layers ?? 5),
    ...(values["work-dir"] === undefined ? {} : { workDir: values["work-dir"] }),
  });
  process.stdout.write(`${formatRegistryFigures(figures)}\n`);
}

