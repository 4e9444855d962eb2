import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { create } from "tar";
import { digestOf, type Digest } from "../../oci/digest.js";
import { createDescriptor, createImageManifest, serializeJson, type ImageConfig } from "../../oci/image-types.js";
import { OCI_MEDIA_TYPES } from "../../oci/media-types.js";
import type { Store } from "../../store/store.js";

/** The digests of an image written by `writeTinyImage`. */
export interface TinyImage {
  manifest: Digest;
  config: Digest;
  layers: Digest[];
  diffIds: Digest[];
}

/** A gzipped layer tar made with node-tar from a temp dir holding `files`. */
export async function makeLayer(files: Record<string, string>): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), "tsbuild-layer-"));
  try {
    const rootfs = join(dir, "rootfs");
    for (const [path, content] of Object.entries(files)) {
      await mkdir(join(rootfs, path, ".."), { recursive: true });
      await writeFile(join(rootfs, path), content);
    }
    const out = join(dir, "layer.tar.gz");
    // Fixed mtimes and owners, so equal inputs give equal layers.
    await create({ gzip: true, cwd: rootfs, file: out, portable: true, mtime: new Date(0) }, Object.keys(files).sort());
    return await readFile(out);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Writes layers, a config and a manifest into the store (not tagged) and returns their digests. */
export async function writeTinyImage(store: Store, layers: Buffer[], options: { cmd?: string[] } = {}): Promise<TinyImage> {
  const layerDescriptors = [];
  for (const layer of layers) {
    const info = await store.content.write(layer);
    layerDescriptors.push({ mediaType: OCI_MEDIA_TYPES.layerGzip, digest: info.digest, size: info.size });
  }
  const diffIds = layers.map((layer) => digestOf(gunzipSync(layer)));
  const config: ImageConfig = {
    architecture: "amd64",
    os: "linux",
    created: "2026-01-01T00:00:00Z",
    config: { Cmd: options.cmd ?? ["/bin/sh"], Env: ["PATH=/bin"] },
    rootfs: { type: "layers", diff_ids: diffIds },
    history: layers.map(() => ({ created: "2026-01-01T00:00:00Z", created_by: "test" })),
  };
  const configBytes = serializeJson(config);
  const configDescriptor = createDescriptor(OCI_MEDIA_TYPES.config, configBytes);
  await store.content.write(configBytes, { digest: configDescriptor.digest });
  const manifestBytes = serializeJson(createImageManifest(configDescriptor, layerDescriptors));
  const manifest = (await store.content.write(manifestBytes)).digest;
  return { manifest, config: configDescriptor.digest, layers: layerDescriptors.map((layer) => layer.digest), diffIds };
}
