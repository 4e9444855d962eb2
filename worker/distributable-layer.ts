import { pipeline } from "node:stream/promises";
import { isTsbuildError, TsbuildError } from "../errors.js";
import { digestOf, type Digest } from "../oci/digest.js";
import { parseManifestLike, serializeJson, type Descriptor, type ImageManifest } from "../oci/image-types.js";
import { createCompressor, LAYER_MEDIA_TYPES } from "../oci/layer-compression.js";
import { DOCKER_MEDIA_TYPES, OCI_MEDIA_TYPES } from "../oci/media-types.js";
import type { Store } from "../store/store.js";
import { fromSystemError } from "../util/system-error.js";

/** How a layer leaves the machine. gzip is what every registry and `docker load` take. */
export type DistributionCompression = "gzip" | "zstd";

/**
 * The ref kind of "this uncompressed layer, compressed so, is that blob" records. Each
 * holds its compressed blob while the uncompressed layer is held (`heldWhile`), so a second
 * push or save finds it made, and garbage collection takes both together.
 */
export const COMPRESSED_LAYER_REF_KIND = "compressed-layer";
const DESCRIPTOR_LABEL = "tsbuild.descriptor";

/** The docker media type of an uncompressed layer (docker-archive and old registries). */
const DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar";

export interface DistributableOptions {
  /** Default gzip. */
  compression?: DistributionCompression;
}

/**
 * The layer as it leaves the machine: an uncompressed layer (what builds, commits and
 * imports store) is compressed on every core the first time, and the compressed blob is
 * remembered; a layer that came compressed (pulled, loaded) goes as it is. The diffID, and
 * so the image id, is the same either way. On a read-only root an uncompressed layer goes
 * uncompressed.
 */
export async function distributableLayer(store: Store, layer: Descriptor, options: DistributableOptions = {}): Promise<Descriptor> {
  const compression = options.compression ?? "gzip";
  const mediaType = compressedMediaType(layer.mediaType, compression);
  if (mediaType === undefined) return layer;
  const id = `${compression}-${layer.digest}`;
  const known = await store.refs.get(COMPRESSED_LAYER_REF_KIND, id);
  const text = known?.labels?.[DESCRIPTOR_LABEL];
  if (text !== undefined) {
    const remembered = JSON.parse(text) as Descriptor;
    if (await store.content.has(remembered.digest)) return { ...withoutLayerFields(layer), ...remembered };
  }
  if (!(await store.content.has(layer.digest))) {
    throw new TsbuildError("NOT_FOUND", `Cannot compress layer "${layer.digest}": it is not in the content store`);
  }
  const compressor = createCompressor(compression);
  let blob: { digest: Digest; size: number };
  try {
    [blob] = await Promise.all([store.content.write(compressor), pipeline(await store.content.openStream(layer.digest), compressor)]);
  } catch (error) {
    compressor.destroy(); // the read of the layer stops too
    // A read-only root can keep no compressed copy: the layer goes as it is stored (an
    // uncompressed layer is as valid in an archive; `docker load` and skopeo read it).
    if (isTsbuildError(fromSystemError(error) ?? error, "READ_ONLY")) return layer;
    throw error;
  }
  const compressed: Descriptor = { mediaType, digest: blob.digest, size: blob.size };
  await store.refs.put(COMPRESSED_LAYER_REF_KIND, id, {
    blobs: [blob.digest],
    heldWhile: layer.digest,
    labels: { [DESCRIPTOR_LABEL]: JSON.stringify(compressed) },
    durable: false, // lost, it is made again
  });
  return { ...withoutLayerFields(layer), ...compressed };
}

/** A manifest as it leaves the machine, and whether it differs from the stored one. */
export interface DistributableManifest {
  bytes: Buffer;
  digest: Digest;
  manifest: ImageManifest;
  /** False when every layer already was compressed: the stored manifest, byte for byte. */
  changed: boolean;
}

/**
 * The manifest `bytes` with its uncompressed layers swapped for their compressed blobs
 * (see `distributableLayer`); the config, and so the image id, stays. Layers are compressed
 * one after another, each on every core, so memory stays flat.
 */
export async function distributableManifest(store: Store, bytes: Buffer, options: DistributableOptions = {}): Promise<DistributableManifest> {
  const parsed = parseManifestLike(bytes, "manifest");
  if (parsed.kind !== "manifest") throw new TsbuildError("INTERNAL", "Cannot make an index distributable as a manifest");
  const { manifest } = parsed;
  const layers: Descriptor[] = [];
  for (const layer of manifest.layers) layers.push(await distributableLayer(store, layer, options));
  if (layers.every((layer, i) => layer.digest === manifest.layers[i].digest)) return { bytes, digest: digestOf(bytes), manifest, changed: false };
  const rewritten: ImageManifest = { ...manifest, layers };
  const out = serializeJson(rewritten);
  return { bytes: out, digest: digestOf(out), manifest: rewritten, changed: true };
}

/** The media type `layer` gets compressed so, or undefined when it is not an uncompressed layer. */
function compressedMediaType(mediaType: string, compression: DistributionCompression): string | undefined {
  if (mediaType === OCI_MEDIA_TYPES.layer) return LAYER_MEDIA_TYPES[compression];
  // docker's schema has no zstd layer type; zstd layers are OCI's.
  if (mediaType === DOCKER_LAYER) return compression === "gzip" ? DOCKER_MEDIA_TYPES.layerGzip : LAYER_MEDIA_TYPES.zstd;
  return undefined;
}

/** A layer's descriptor without what compression changes (annotations and the like stay). */
function withoutLayerFields(layer: Descriptor): Omit<Descriptor, "mediaType" | "digest" | "size"> {
  const { mediaType: _m, digest: _d, size: _s, ...rest } = layer;
  return rest;
}
