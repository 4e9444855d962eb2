import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { link, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { gzipSync } from "node:zlib";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { isTsbuildError } from "../../errors.js";
import { readImageArchive } from "../../oci/archive-reader.js";
import { parseDockerArchiveManifest } from "../../oci/archive-docker-manifest.js";
import {
  checkManifestMediaTypes,
  computeChainIds,
  parseImageConfig,
  parseImageIndex,
  parseImageManifest,
  parseManifestLike,
  referencedDescriptors,
} from "../../oci/image-types.js";
import { isZstdAvailable } from "../../oci/layer-compression.js";
import { BLOCK_SIZE, encodeTarHeader, endOfArchive, paddingFor, type TarHeader } from "../../oci/layer-tar-header.js";
import { selectPlatformManifest } from "../../registry/platform-match.js";
import { applyLayer } from "../../snapshotter/apply-layer.js";
import { createSnapshotter } from "../../snapshotter/create-snapshotter.js";
import { readLayoutIndex } from "../../store/layout-index.js";
import { storePaths } from "../../store/store-paths.js";
import { seededRandom } from "../helpers/seeded-random.js";
import { cleanupRoot, mountsUnder } from "../snapshotter/tree-fixtures.js";

/**
 * Seeded mutations of valid inputs, fed to every reader of untrusted bytes: layer blobs
 * (plain, gzip, zstd) through the layer applier, image archives (docker and OCI) through the
 * archive reader, and manifests, configs, indexes and the store's index.json through their
 * parsers. The oracle: a result or a TsbuildError, never another exception, never an
 * unhandled 'error' or rejection, nothing written outside the target, nothing left mounted.
 * The same seed gives the same inputs, so a failure names its case and can be replayed.
 */

const SEED = 0x0f_2026;
const LAYER_CASES = 1500;
const ARCHIVE_CASES = 600;
const JSON_CASES = 3000;

type Random = () => number;
const int = (next: Random, n: number) => Math.floor(next() * n);
const pick = <T>(next: Random, items: readonly T[]): T => items[int(next, items.length)];

/** Values a mutated tar field or JSON value is given: the edges parsers get wrong. */
function dictionary(canary: string): string[] {
  return [
    "", ".", "..", "../", "../../x", `${canary}/pwned`, "/etc/passwd", "a/../../b", "./", "x/", "\0", "a\0b", ".wh..wh..opq", ".wh.x", ".wh..",
    "7777777", "77777777777", "99999999999", "-1", " ", "\u00e9", "A".repeat(300), "/".repeat(50), "0x80", "ustar", "ustar  ",
  ];
}

function tarOf(entries: Array<{ header: Partial<TarHeader> & { path: string; type: TarHeader["type"] }; body?: Buffer }>): Buffer {
  const parts: Buffer[] = [];
  for (const { header, body = Buffer.alloc(0) } of entries) {
    const full: TarHeader = { mode: 0o644, uid: 0, gid: 0, size: body.length, mtime: 1_700_000_000, linkpath: "", devmajor: 0, devminor: 0, xattrs: new Map(), ...header };
    parts.push(encodeTarHeader(full), body, paddingFor(body.length));
  }
  parts.push(endOfArchive());
  return Buffer.concat(parts);
}

/** A layer with a bit of everything the applier handles, pointing at the canary where it can. */
function seedLayer(canary: string): Buffer {
  return tarOf([
    { header: { path: "dir", type: "directory", mode: 0o755 } },
    { header: { path: "dir/file", type: "file" }, body: Buffer.from("hello\n") },
    { header: { path: "dir/link", type: "symlink", linkpath: "file" } },
    { header: { path: "up", type: "symlink", linkpath: "../../.." + canary } },
    { header: { path: "dir/hard", type: "hardlink", linkpath: "dir/file" } },
    { header: { path: "dir/.wh.gone", type: "file" } },
    { header: { path: "opaque/.wh..wh..opq", type: "file" } },
    { header: { path: `long/${"n".repeat(120)}`, type: "file", xattrs: new Map([["user.k", Buffer.from("v")]]) }, body: Buffer.from("long name\n") },
    { header: { path: "big", type: "file" }, body: Buffer.alloc(3000, 0x61) },
  ]);
}

/** Mutates one header field of a random header block, and most of the time fixes its checksum. */
function mutateTarHeader(next: Random, tar: Buffer, words: readonly string[]): Buffer {
  const out = Buffer.from(tar);
  const blocks: number[] = [];
  for (let offset = 0; offset + BLOCK_SIZE <= out.length; offset += BLOCK_SIZE) if (out.subarray(offset + 257, offset + 262).toString() === "ustar") blocks.push(offset);
  if (blocks.length === 0) return out;
  const at = pick(next, blocks);
  const [start, width] = pick(next, [[0, 100], [100, 8], [108, 8], [116, 8], [124, 12], [136, 12], [156, 1], [157, 100], [329, 8], [337, 8], [345, 155]] as const);
  const field = Buffer.alloc(width);
  if (width === 1) field.write(pick(next, ["0", "1", "2", "3", "4", "5", "6", "7", "g", "x", "L", "K", "S", "Z", "\0"]));
  else if (next() < 0.2) {
    field[0] = 0x80; // base-256 number
    for (let i = 1; i < width; i++) field[i] = int(next, 256);
  } else field.write(pick(next, words).slice(0, width));
  field.copy(out, at + start);
  if (next() < 0.85) {
    out.fill(0x20, at + 148, at + 156);
    let sum = 0;
    for (let i = at; i < at + BLOCK_SIZE; i++) sum += out[i];
    out.write(`${sum.toString(8).padStart(6, "0")}\0 `, at + 148, 8, "ascii");
  }
  return out;
}

/** Byte-level mutations: flips, overwrites, truncation, insertion, duplication, splicing. */
function mutateBytes(next: Random, input: Buffer, other: Buffer): Buffer {
  let out = Buffer.from(input);
  const rounds = 1 + int(next, 4);
  for (let r = 0; r < rounds && out.length > 0; r++) {
    switch (int(next, 6)) {
      case 0:
        out[int(next, out.length)] ^= 1 << int(next, 8);
        break;
      case 1:
        out[int(next, out.length)] = pick(next, [0x00, 0xff, 0x2f, 0x2e, 0x30, 0x37, 0x7f, 0x80]);
        break;
      case 2:
        out = out.subarray(0, int(next, out.length));
        break;
      case 3: {
        const at = int(next, out.length);
        const extra = Buffer.from(Array.from({ length: 1 + int(next, 64) }, () => int(next, 256)));
        out = Buffer.concat([out.subarray(0, at), extra, out.subarray(at)]);
        break;
      }
      case 4: {
        const from = int(next, out.length);
        const length = Math.min(out.length - from, 1 + int(next, 1024));
        const at = int(next, out.length);
        out = Buffer.concat([out.subarray(0, at), out.subarray(from, from + length), out.subarray(at)]);
        break;
      }
      default: {
        const cut = int(next, out.length);
        const from = int(next, Math.max(1, other.length));
        out = Buffer.concat([out.subarray(0, cut), other.subarray(from)]);
      }
    }
  }
  return out;
}

function zstd(data: Buffer): Buffer {
  return spawnSync("zstd", ["-q", "-c", "-3"], { input: data, maxBuffer: 1 << 26 }).stdout;
}

/** Everything under `dir`: names, sizes, link counts and contents' hashes, to see a write outside the target. */
async function fingerprint(dir: string): Promise<string> {
  const lines: string[] = [];
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    const path = join(entry.parentPath, entry.name);
    const info = await stat(path).catch(() => undefined);
    const content = entry.isFile() ? createHash("sha256").update(await readFile(path)).digest("hex") : "";
    lines.push(`${path} ${info?.size ?? "-"} ${info?.nlink ?? "-"} ${info?.mode ?? "-"} ${content}`);
  }
  return lines.sort().join("\n");
}

/** Records what escapes the normal paths: an 'error' nobody listened to, a rejection nobody handled. */
function watchUnhandled(): { stop(): string[] } {
  const seen: string[] = [];
  const onError = (error: unknown) => seen.push(`uncaught: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  const onRejection = (reason: unknown) => seen.push(`unhandled rejection: ${reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)}`);
  process.on("uncaughtException", onError);
  process.on("unhandledRejection", onRejection);
  return {
    stop() {
      process.off("uncaughtException", onError);
      process.off("unhandledRejection", onRejection);
      return seen;
    },
  };
}

/** Runs `fn`, returning a description of the failure when it threw anything but a TsbuildError. */
async function outcome(fn: () => Promise<unknown>): Promise<string | undefined> {
  try {
    await fn();
    return undefined;
  } catch (error) {
    return isTsbuildError(error) ? undefined : `${error instanceof Error ? (error.stack ?? error.message) : String(error)}`;
  }
}

/** A temp dir with a canary beside the target, unhandled errors watched; everything removed afterwards. */
async function withFuzzDir(fn: (setup: { dir: string; canary: string; words: string[]; canaryIntact(): Promise<boolean> }) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "tsbuild-fuzz-"));
  const watch = watchUnhandled();
  try {
    const canary = join(dir, "canary");
    await mkdir(canary);
    await writeFile(join(canary, "victim"), "original\n");
    await link(join(canary, "victim"), join(canary, "victim-link"));
    const before = await fingerprint(canary);
    await fn({ dir, canary, words: dictionary(canary), canaryIntact: async () => (await fingerprint(canary)) === before });
    assert.equal(watch.stop(), [], "no error went unhandled");
  } finally {
    watch.stop();
    await cleanupRoot(dir);
  }
}

test(`${LAYER_CASES} seeded mutations of layer blobs (plain, gzip, zstd): the applier gives a layer or a clean error, never writes outside its target, and leaves nothing mounted`, async () => {
  await withFuzzDir(async ({ dir, canary, words, canaryIntact }) => {
    const seed = seedLayer(canary);
    const zstdOk = isZstdAvailable();
    // A snapshotter with two layers below, so applying mounts a merged lower view.
    const snapshotter = await createSnapshotter(join(dir, "root"), { implementation: "overlayfs" });
    await snapshotter.apply("l1", Readable.from([tarOf([{ header: { path: "base", type: "directory" } }])]));
    await snapshotter.apply("l2", Readable.from([tarOf([{ header: { path: "base/file", type: "file" }, body: Buffer.from("x") }])]), { parent: "l1" });

    const next = seededRandom(SEED);
    const failures: string[] = [];
    const counts = { accepted: 0, refused: 0 };
    for (let i = 0; i < LAYER_CASES; i++) {
      const tar = next() < 0.6 ? mutateTarHeader(next, seed, words) : seed;
      const raw = next() < 0.7 ? mutateBytes(next, tar, seed) : tar;
      const form = next();
      const blob = form < 0.6 ? raw : form < 0.9 || !zstdOk ? (next() < 0.5 ? gzipSync(raw) : mutateBytes(next, gzipSync(tar), seed)) : next() < 0.5 ? zstd(raw) : mutateBytes(next, zstd(tar), seed);
      const target = join(dir, "target");
      await mkdir(target);
      let accepted = false;
      const failed =
        i % 10 === 9
          ? await outcome(async () => {
              await snapshotter.apply(`fuzz-${i}`, Readable.from([blob]), { parent: "l2" });
              accepted = true;
              await snapshotter.remove(`fuzz-${i}`);
            })
          : await outcome(async () => {
              await applyLayer(Readable.from([blob]), target, { mode: next() < 0.5 ? "overlay" : "native" });
              accepted = true;
            });
      if (failed !== undefined) failures.push(`case ${i}: ${failed}`);
      counts[accepted ? "accepted" : "refused"]++;
      await rm(target, { recursive: true, force: true });
      const escaped = (await readdir(dir)).filter((name) => !["canary", "target", "root"].includes(name));
      if (escaped.length > 0 || !(await canaryIntact())) {
        failures.push(`case ${i}: wrote outside its target: ${escaped.join(", ")}`);
        break;
      }
    }
    assert.equal(failures.slice(0, 5), [], `${failures.length} of ${LAYER_CASES} cases failed`);
    assert.equal(await mountsUnder(dir), []);
    assert.ok(counts.accepted > 50 && counts.refused > 50, `the mutations reach both outcomes: ${JSON.stringify(counts)}`);
  });
});

/** A docker-archive and an OCI archive of one image with one layer, as tar bytes. */
function seedArchives(layer: Buffer): { docker: Buffer; oci: Buffer } {
  const sha = (data: Buffer) => createHash("sha256").update(data).digest("hex");
  const config = Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [`sha256:${sha(layer)}`] }, config: { Cmd: ["sh"] } }));
  const member = (path: string, body: Buffer) => ({ header: { path, type: "file" as const }, body });
  const docker = tarOf([
    member(`${sha(layer)}/layer.tar`, layer),
    member(`${sha(config)}.json`, config),
    member("manifest.json", Buffer.from(JSON.stringify([{ Config: `${sha(config)}.json`, RepoTags: ["fuzz/image:1"], Layers: [`${sha(layer)}/layer.tar`] }]))),
  ]);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: `sha256:${sha(config)}`, size: config.length },
      layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar", digest: `sha256:${sha(layer)}`, size: layer.length }],
    }),
  );
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{ mediaType: "application/vnd.oci.image.manifest.v1+json", digest: `sha256:${sha(manifest)}`, size: manifest.length, annotations: { "org.opencontainers.image.ref.name": "1" } }],
    }),
  );
  const oci = tarOf([
    { header: { path: "blobs", type: "directory" } },
    { header: { path: "blobs/sha256", type: "directory" } },
    member(`blobs/sha256/${sha(layer)}`, layer),
    member(`blobs/sha256/${sha(config)}`, config),
    member(`blobs/sha256/${sha(manifest)}`, manifest),
    member("index.json", index),
    member("oci-layout", Buffer.from('{"imageLayoutVersion":"1.0.0"}')),
  ]);
  return { docker, oci };
}

test(`${ARCHIVE_CASES} seeded mutations of image archives (docker and OCI): the reader gives images or a clean error and keeps its extraction inside its temp dir`, async () => {
  await withFuzzDir(async ({ dir, words, canaryIntact }) => {
    const layer = tarOf([{ header: { path: "hello", type: "file" }, body: Buffer.from("hello\n") }]);
    const { docker, oci } = seedArchives(layer);
    const temp = join(dir, "temp");
    await mkdir(temp);
    const next = seededRandom(SEED + 1);
    const failures: string[] = [];
    const counts = { accepted: 0, refused: 0 };
    for (let i = 0; i < ARCHIVE_CASES; i++) {
      const seed = next() < 0.5 ? docker : oci;
      const tar = next() < 0.6 ? mutateTarHeader(next, seed, words) : seed;
      const input = next() < 0.7 ? mutateBytes(next, tar, layer) : tar;
      let accepted = false;
      const failed = await outcome(async () => {
        const archive = await readImageArchive(Readable.from([input]), { tempDir: temp, label: `case ${i}` });
        try {
          // What a load goes on to use: names, platform, the chain of diff ids, the manifest's descriptors.
          for (const image of archive.images) {
            computeChainIds(image.config.parsed.rootfs.diff_ids);
            if (image.manifest !== undefined) referencedDescriptors({ kind: "manifest", manifest: image.manifest.parsed });
          }
          accepted = true;
        } finally {
          await archive.dispose();
        }
      });
      if (failed !== undefined) failures.push(`case ${i}: ${failed}`);
      counts[accepted ? "accepted" : "refused"]++;
      const left = await readdir(temp);
      const escaped = (await readdir(dir)).filter((name) => !["canary", "temp"].includes(name));
      if (left.length > 0 || escaped.length > 0 || !(await canaryIntact())) {
        failures.push(`case ${i}: left ${left.join(", ")} in its temp dir, wrote ${escaped.join(", ")} beside it`);
        break;
      }
    }
    assert.equal(failures.slice(0, 5), [], `${failures.length} of ${ARCHIVE_CASES} cases failed`);
    assert.ok(counts.accepted > 20 && counts.refused > 20, `the mutations reach both outcomes: ${JSON.stringify(counts)}`);
  });
});

/** Replaces a random value somewhere in a JSON document with an unexpected one. */
function mutateJson(next: Random, value: unknown, words: readonly string[]): unknown {
  const odd = (): unknown => pick(next, [null, true, 0, -1, 1e308, 2 ** 53 + 1, "", pick(next, words), [], {}, [null], { "": null }, "sha256:" + "0".repeat(64), "sha256:../../x"]);
  if (next() < 0.15) return odd();
  if (Array.isArray(value)) {
    if (value.length === 0 || next() < 0.2) return [...value, odd()];
    const copy = [...value];
    const at = int(next, copy.length);
    copy[at] = mutateJson(next, copy[at], words);
    return next() < 0.1 ? copy.slice(0, at) : copy;
  }
  if (value !== null && typeof value === "object") {
    const copy: Record<string, unknown> = { ...(value as Record<string, unknown>) };
    const keys = Object.keys(copy);
    if (keys.length === 0 || next() < 0.1) copy[pick(next, ["__proto__", "constructor", "mediaType", "layers", "manifests", "rootfs", "config"])] = odd();
    else {
      const key = pick(next, keys);
      if (next() < 0.15) delete copy[key];
      else copy[key] = mutateJson(next, copy[key], words);
    }
    return copy;
  }
  return next() < 0.5 ? odd() : value;
}

test(`${JSON_CASES} seeded mutations of manifests, configs, indexes, docker manifest.json and the store's index.json: parsers and what reads their results throw only clean errors`, async () => {
  const dir = await mkdtemp(join(tmpdir(), "tsbuild-fuzz-"));
  const watch = watchUnhandled();
  try {
    const words = dictionary("/tmp/canary");
    const digest = (c: string) => `sha256:${c.repeat(64)}`;
    const seeds: Record<string, unknown> = {
      manifest: {
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: digest("a"), size: 10 },
        layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: digest("b"), size: 20 }],
      },
      index: {
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.index.v1+json",
        manifests: [{ mediaType: "application/vnd.oci.image.manifest.v1+json", digest: digest("c"), size: 30, platform: { architecture: "amd64", os: "linux" } }],
      },
      config: { architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [digest("d"), digest("e")] }, config: { Env: ["A=1"], Cmd: ["sh"] }, history: [{ created: "2020-01-01T00:00:00Z" }] },
      docker: [{ Config: "c.json", RepoTags: ["fuzz/x:1"], Layers: ["l/layer.tar"] }],
    };
    const paths = storePaths(join(dir, "root"));
    await mkdir(paths.content, { recursive: true });
    const next = seededRandom(SEED + 2);
    const failures: string[] = [];
    for (let i = 0; i < JSON_CASES; i++) {
      const kind = pick(next, Object.keys(seeds));
      const mutated = mutateJson(next, seeds[kind], words);
      let bytes: Buffer = Buffer.from(JSON.stringify(mutated) ?? "null");
      if (next() < 0.3) bytes = mutateBytes(next, bytes, Buffer.from(JSON.stringify(seeds.manifest)));
      const failed = await outcome(async () => {
        if (kind === "manifest") {
          const parsed = parseManifestLike(bytes);
          referencedDescriptors(parsed);
          checkManifestMediaTypes(parseImageManifest(bytes));
        } else if (kind === "index") {
          const index = parseImageIndex(bytes);
          referencedDescriptors({ kind: "index", index });
          selectPlatformManifest(index, { architecture: "amd64", os: "linux" }, "fuzz");
          await writeFile(paths.indexJson, bytes);
          await readLayoutIndex(paths);
        } else if (kind === "config") {
          computeChainIds(parseImageConfig(bytes).rootfs.diff_ids);
        } else {
          parseDockerArchiveManifest(bytes, "fuzz");
        }
      });
      if (failed !== undefined) failures.push(`case ${i} (${kind}: ${bytes.toString("utf8").slice(0, 200)}): ${failed}`);
    }
    assert.equal(failures.slice(0, 5), [], `${failures.length} of ${JSON_CASES} cases failed`);
    assert.equal(watch.stop(), []);
  } finally {
    watch.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
