import { randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { rename, unlink } from "node:fs/promises";
import { Readable, type Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { TsbuildError } from "../errors.js";
import { Digester, digestHex, digestOf, isDigest, type Digest } from "./digest.js";
import {
  createImageIndex,
  parseImageConfig,
  parseImageIndex,
  parseImageManifest,
  REF_NAME_ANNOTATION,
  serializeJson,
  type Descriptor,
  type ImageConfig,
  type Platform,
} from "./image-types.js";
import { encodeTarHeader } from "./layer-tar-header.js";
import { OCI_MEDIA_TYPES } from "./media-types.js";
import { familiarName, familiarString, formatReference, parseReference, withDefaultTag, type ImageReference } from "./reference.js";
import {
  ARCHIVE_MEMBERS,
  blobMemberName,
  CONTAINERD_IMAGE_NAME_ANNOTATION,
  OCI_LAYOUT_VERSION,
  type ArchiveFormat,
} from "./archive-format.js";
import type { DockerArchiveManifestEntry } from "./archive-docker-manifest.js";
import { crashPoint } from "../util/crash-point.js";
import { statIfExists } from "../util/stat-if-exists.js";
import { compareStrings } from "../util/compare-strings.js";

/** A layer blob as the store holds it (usually gzip-compressed). */
export interface ArchiveLayerSource {
  digest: Digest;
  mediaType: string;
  size: number;
  /** Streams the blob; called once, when the writer reaches it. */
  open(): Readable | Promise<Readable>;
}

/** One image to write. */
export interface ArchiveImage {
  /** Tagged references (`busybox`, `user/img:1.0`); `latest` is added when no tag is given. */
  names: string[];
  /** The image config, byte for byte as stored (its digest is the image id). */
  config: Uint8Array;
  /** The image manifest, byte for byte as stored; required for the OCI format. */
  manifest?: Uint8Array;
  /** Base layer first, matching the config's diff_ids and the manifest's layers. */
  layers: ArchiveLayerSource[];
}

/**
 * A multi-platform image to write: its index, byte for byte as stored, and the images of its
 * platforms that are at hand (a platform left out is skipped by readers, as containerd
 * exports only the platforms it has). index.json names the index; a docker-archive's
 * manifest.json, which holds one image per name, lists the `primary` platform's image.
 */
export interface ArchiveIndex {
  names: string[];
  index: Uint8Array;
  /** Each with its manifest; `names` of these are ignored. */
  images: ArchiveImage[];
  /** Which of `images` docker-archive readers get (this host's platform, say). Default 0. */
  primary?: number;
}

export interface WriteImageArchiveOptions {
  format: ArchiveFormat;
  /** The modification time of every member, in seconds (SOURCE_DATE_EPOCH); 0 if unset. */
  sourceDateEpoch?: number;
  signal?: AbortSignal;
}

type PlannedMember =
  | { name: string; kind: "directory" }
  | { name: string; kind: "bytes"; data: Buffer }
  | { name: string; kind: "layer"; layer: ArchiveLayerSource };

const BLOCK_SIZE = 512;

/**
 * Writes images as a docker-archive or an OCI archive, streaming each layer from its
 * `open()` into the tar, checking its digest and size on the way.
 *
 * Both formats store every blob once under `blobs/sha256/<hex>`, layers as the store holds
 * them (compressed). The OCI format is that layout with `oci-layout` and `index.json`, whose
 * entries carry `org.opencontainers.image.ref.name` = the tag (what skopeo's
 * `oci-archive:FILE:tag` looks up) and `io.containerd.image.name` = the full name.
 * The docker format is the layout docker 25+ `docker save` writes: the same, plus
 * `manifest.json` and `repositories`. Older docker (20.10) and skopeo's docker-archive
 * transport follow only manifest.json's paths and sniff each layer's compression, so they
 * read compressed layers there; writing them uncompressed, as classic `docker save` did,
 * would mean decompressing every layer twice (a tar header needs the size first).
 *
 * Output is deterministic: members sorted by name, mode 0644/0755, owner 0:0 without
 * names, mtime `sourceDateEpoch` or 0. To a path, the archive is written to a temporary
 * sibling and renamed into place once complete.
 *
 * @example
 * await writeImageArchive("out.tar", [{ names: ["app:1.0"], config, manifest, layers }], { format: "oci" });
 */
export async function writeImageArchive(
  target: string | Writable,
  images: Array<ArchiveImage | ArchiveIndex>,
  options: WriteImageArchiveOptions,
): Promise<void> {
  const members = planMembers(images, options.format);
  const mtime = new Date((options.sourceDateEpoch ?? 0) * 1000);
  const chunks = Readable.from(tarChunks(members, mtime));
  try {
    if (typeof target !== "string") {
      await pipeline(chunks, target, { signal: options.signal });
      return;
    }
    // A device or fifo (/dev/stdout) cannot be renamed onto; write to it directly.
    const existing = await statIfExists(target);
    if (existing !== undefined && !existing.isFile()) {
      await pipeline(chunks, createWriteStream(target), { signal: options.signal });
      return;
    }
    const temp = `${target}.tmp-${randomBytes(6).toString("hex")}`;
    const file = createWriteStream(temp, { flags: "wx", mode: 0o644 });
    try {
      await pipeline(chunks, file, { signal: options.signal });
      await rename(temp, target);
    } catch (error) {
      // A file stream still opening when the pipeline failed creates the file after that
      // (an early failure, a layer that does not match its digest): wait for it, then remove it.
      if (!file.closed) await new Promise<void>((closed) => file.once("close", () => closed()));
      await unlink(temp).catch(() => undefined); // the write error is the one to report
      throw error;
    }
  } catch (error) {
    if ((error as Error).name === "AbortError") {
      throw new TsbuildError("CANCELLED", `Writing image archive "${labelOf(target)}" was cancelled`, { cause: error });
    }
    if (error instanceof TsbuildError) throw error;
    throw new TsbuildError("SYSTEM", `Cannot write image archive "${labelOf(target)}": ${(error as Error).message}`, { cause: error });
  }
}

/** Every member of the archive, sorted by name, with each blob once. */
function planMembers(entries: Array<ArchiveImage | ArchiveIndex>, format: ArchiveFormat): PlannedMember[] {
  // An index's images are written like single images; only the index is an index.json entry.
  const images: ArchiveImage[] = [];
  const hidden = new Set<ArchiveImage>();
  const indexes: ArchiveIndex[] = [];
  for (const entry of entries) {
    if (!("index" in entry)) {
      images.push(entry);
      continue;
    }
    indexes.push(entry);
    entry.images.forEach((image, i) => {
      const primary = i === (entry.primary ?? 0);
      const inArchive: ArchiveImage = { ...image, names: primary ? entry.names : [] };
      images.push(inArchive);
      hidden.add(inArchive);
    });
  }
  const blobs = new Map<string, PlannedMember>();
  const addBytes = (data: Uint8Array): Digest => {
    const digest = digestOf(data);
    blobs.set(blobMemberName(digest), { name: blobMemberName(digest), kind: "bytes", data: Buffer.from(data) });
    return digest;
  };
  const indexEntries: Descriptor[] = [];
  const dockerEntries: DockerArchiveManifestEntry[] = [];
  const repositories: Record<string, Record<string, string>> = {};
  const withManifest = images.filter((image) => image.manifest !== undefined).length;
  if (format === "oci" && withManifest < images.length) {
    throw new TsbuildError("INTERNAL", "Cannot write an OCI archive: an image has no manifest");
  }
  // The docker format doubles as an OCI layout only when every image can be indexed.
  const writeIndex = format === "oci" || (images.length > 0 && withManifest === images.length);

  for (const [i, image] of images.entries()) {
    const config = parseImageConfig(image.config, `image config of image ${i}`);
    const configDigest = addBytes(image.config);
    checkLayers(image, { config, configDigest, index: i });
    for (const layer of image.layers) {
      blobs.set(blobMemberName(layer.digest), { name: blobMemberName(layer.digest), kind: "layer", layer });
    }
    const references = image.names.map(taggedReference);
    if (image.manifest !== undefined && writeIndex && hidden.has(image)) {
      addBytes(image.manifest);
    } else if (image.manifest !== undefined && writeIndex) {
      const manifestDigest = addBytes(image.manifest);
      const mediaType = parseImageManifest(image.manifest, `manifest of image ${i}`).mediaType ?? OCI_MEDIA_TYPES.manifest;
      const descriptor: Descriptor = { mediaType, digest: manifestDigest, size: image.manifest.byteLength, platform: platformOf(config) };
      if (references.length === 0) indexEntries.push(descriptor);
      for (const reference of references) {
        indexEntries.push({
          ...descriptor,
          annotations: {
            [CONTAINERD_IMAGE_NAME_ANNOTATION]: formatReference(reference),
            [REF_NAME_ANNOTATION]: reference.tag as string,
          },
        });
      }
    }
    // An index's other platforms are blobs only: manifest.json holds one image per name.
    if (format === "docker" && (!hidden.has(image) || references.length > 0)) {
      const repoTags = references.map(familiarString);
      dockerEntries.push({
        Config: blobMemberName(configDigest),
        RepoTags: repoTags.length === 0 ? null : repoTags,
        Layers: image.layers.map((layer) => blobMemberName(layer.digest)),
      });
      // Legacy docker maps each tag to the image's top layer id; any id of the image works there.
      const top = image.layers.length === 0 ? configDigest : image.layers[image.layers.length - 1].digest;
      for (const reference of references) {
        const repository = familiarName(reference);
        repositories[repository] = { ...repositories[repository], [reference.tag as string]: digestHex(top) };
      }
    }
  }

  for (const entry of indexes) {
    const digest = addBytes(entry.index);
    const mediaType = parseImageIndex(entry.index, "image index").mediaType ?? OCI_MEDIA_TYPES.index;
    const descriptor: Descriptor = { mediaType, digest, size: entry.index.byteLength };
    if (entry.names.length === 0) indexEntries.push(descriptor);
    for (const reference of entry.names.map(taggedReference)) {
      indexEntries.push({ ...descriptor, annotations: { [CONTAINERD_IMAGE_NAME_ANNOTATION]: formatReference(reference), [REF_NAME_ANNOTATION]: reference.tag as string } });
    }
  }

  const members: PlannedMember[] = [
    { name: "blobs", kind: "directory" },
    { name: "blobs/sha256", kind: "directory" },
    ...blobs.values(),
  ];
  if (writeIndex) {
    members.push({ name: ARCHIVE_MEMBERS.ociLayout, kind: "bytes", data: serializeJson({ imageLayoutVersion: OCI_LAYOUT_VERSION }) });
    members.push({ name: ARCHIVE_MEMBERS.index, kind: "bytes", data: serializeJson(createImageIndex(indexEntries)) });
  }
  if (format === "docker") {
    members.push({ name: ARCHIVE_MEMBERS.dockerManifest, kind: "bytes", data: serializeJson(dockerEntries) });
    if (Object.keys(repositories).length > 0) {
      members.push({ name: ARCHIVE_MEMBERS.repositories, kind: "bytes", data: serializeJson(repositories) });
    }
  }
  return members.sort((a, b) => compareStrings(a.name, b.name));
}

/** The layers must be the ones config and manifest name, or the archive would not load. */
function checkLayers(image: ArchiveImage, { config, configDigest, index: i }: { config: ImageConfig; configDigest: Digest; index: number }): void {
  const diffIDs = config.rootfs.diff_ids;
  if (image.layers.length !== diffIDs.length) {
    throw new TsbuildError("INTERNAL", `Cannot write image ${i}: it has ${image.layers.length} layers but its config has ${diffIDs.length} diff ids`);
  }
  for (const layer of image.layers) {
    if (!isDigest(layer.digest)) throw new TsbuildError("INTERNAL", `Cannot write image ${i}: layer digest "${String(layer.digest)}" is not sha256`);
  }
  if (image.manifest === undefined) return;
  const manifest = parseImageManifest(image.manifest, `manifest of image ${i}`);
  if (manifest.config.digest !== configDigest) {
    throw new TsbuildError("INTERNAL", `Cannot write image ${i}: its manifest names config "${manifest.config.digest}", not "${configDigest}"`);
  }
  const given = image.layers.map((layer) => layer.digest).join(",");
  if (manifest.layers.map((layer) => layer.digest).join(",") !== given) {
    throw new TsbuildError("INTERNAL", `Cannot write image ${i}: its layers are not the ones its manifest lists`);
  }
}

function taggedReference(name: string): ImageReference {
  const reference = withDefaultTag(parseReference(name));
  if (reference.digest !== undefined || reference.tag === undefined) {
    throw new TsbuildError("INVALID_REFERENCE", `Cannot name an image "${name}" in an archive: archives need a tag, not a digest`);
  }
  return reference;
}

function platformOf(config: ImageConfig): Platform {
  const platform: Platform = { architecture: config.architecture, os: config.os };
  if (config.variant !== undefined) platform.variant = config.variant;
  return platform;
}

async function* tarChunks(members: PlannedMember[], mtime: Date): AsyncGenerator<Buffer> {
  for (const member of members) {
    if (member.kind === "directory") {
      yield headerBlock(`${member.name}/`, { type: "Directory", size: 0, mtime });
      continue;
    }
    if (member.kind === "bytes") {
      yield headerBlock(member.name, { type: "File", size: member.data.byteLength, mtime });
      yield member.data;
      yield padding(member.data.byteLength);
      continue;
    }
    const { layer } = member;
    yield headerBlock(member.name, { type: "File", size: layer.size, mtime });
    const digester = new Digester();
    for await (const chunk of await layer.open()) {
      const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
      digester.update(bytes);
      // Past the size in the header the tar would be corrupt; stop before writing it.
      if (digester.size > layer.size) throw layerMismatch(layer, `is longer than its size ${layer.size}`);
      yield bytes;
    }
    if (digester.size !== layer.size) throw layerMismatch(layer, `has ${digester.size} bytes, not ${layer.size}`);
    const actual = digester.digest();
    if (actual !== layer.digest) throw layerMismatch(layer, `has digest "${actual}"`);
    yield padding(layer.size);
    // With part of the archive written to its temporary file, not yet renamed into place.
    crashPoint("archive-writer.layer");
  }
  // The end of a tar: two zero blocks.
  yield Buffer.alloc(2 * BLOCK_SIZE);
}

function headerBlock(path: string, fields: { type: "File" | "Directory"; size: number; mtime: Date }): Buffer {
  const directory = fields.type === "Directory";
  return encodeTarHeader({
    path: directory ? path.replace(/\/$/, "") : path,
    type: directory ? "directory" : "file",
    mode: directory ? 0o755 : 0o644,
    uid: 0,
    gid: 0,
    size: fields.size,
    mtime: Math.floor(fields.mtime.getTime() / 1000),
    linkpath: "",
    devmajor: 0,
    devminor: 0,
    xattrs: new Map(),
  });
}

function padding(size: number): Buffer {
  return Buffer.alloc((BLOCK_SIZE - (size % BLOCK_SIZE)) % BLOCK_SIZE);
}

function layerMismatch(layer: ArchiveLayerSource, what: string): TsbuildError {
  return new TsbuildError("DIGEST_MISMATCH", `Layer "${layer.digest}" ${what}`);
}

function labelOf(target: string | Writable): string {
  return typeof target === "string" ? target : "stream";
}
