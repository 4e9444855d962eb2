import { createReadStream } from "node:fs";
import { readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { TsbuildError } from "../errors.js";
import { makeOwnedTempDir } from "../util/owned-temp-dir.js";
import { Digester, type Digest } from "./digest.js";
import {
  parseImageConfig,
  parseImageIndex,
  parseImageManifest,
  REF_NAME_ANNOTATION,
  type Descriptor,
  type ImageConfig,
  type ImageManifest,
  type Platform,
} from "./image-types.js";
import { isConfigMediaType, isIndexMediaType, isLayerMediaType, isManifestMediaType, OCI_MEDIA_TYPES } from "./media-types.js";
import {
  ARCHIVE_MEMBERS,
  blobMemberName,
  CONTAINERD_IMAGE_NAME_ANNOTATION,
  type ArchiveFormat,
} from "./archive-format.js";
import { extractArchiveMembers, type ArchiveMember, type ArchiveMembers } from "./archive-members.js";
import { parseDockerArchiveManifest } from "./archive-docker-manifest.js";
import { zlib } from "../util/lazy-builtin.js";

/** One layer of an image read from an archive, as its blob is stored there. */
export interface ArchiveLayerContents {
  /** The sha256 of the blob as stored in the archive (compressed or not). */
  digest: Digest;
  /** The digest of the uncompressed tar, from the config's rootfs.diff_ids. */
  diffID: Digest;
  /** The OCI media type: from the manifest when there is one, else from the blob's magic bytes. */
  mediaType: string;
  size: number;
  /** The extracted blob on disk, valid until `dispose()`. */
  path: string;
  /** Streams the blob. */
  open(): Readable;
}

/** One image of an archive. */
export interface ArchiveImageContents {
  /**
   * Full image names: docker's RepoTags (`busybox:latest`), or the
   * `io.containerd.image.name` annotations of an OCI index. Not normalised.
   */
  names: string[];
  /**
   * The raw `org.opencontainers.image.ref.name` annotations of an OCI index: a bare tag
   * (`1.0`, as skopeo writes it) or a full name (as BuildKit writes it).
   */
  refNames: string[];
  config: { digest: Digest; bytes: Buffer; parsed: ImageConfig };
  /** The image manifest, when the archive holds one (OCI archives, docker 25+ saves). */
  manifest: { digest: Digest; mediaType: string; bytes: Buffer; parsed: ImageManifest } | undefined;
  /** The platform the config states. */
  platform: Platform;
  /** Base layer first. */
  layers: ArchiveLayerContents[];
  /** The multi-platform image (index.json names an index) this image is a platform of; its other platforms are images of the archive too. */
  index?: { digest: Digest; mediaType: string; bytes: Buffer };
}

/** What `readImageArchive` found; the layer files live in `dir` until `dispose()`. */
export interface ArchiveContents {
  format: ArchiveFormat;
  /** The directory the archive was extracted into. */
  dir: string;
  images: ArchiveImageContents[];
  /** Removes `dir` and everything in it. */
  dispose(): Promise<void>;
}

export interface ReadImageArchiveOptions {
  /** The directory under which a fresh extraction directory is made; the OS temp dir if unset. */
  tempDir?: string;
  /**
   * Also decompress compressed layers to check them against the config's diff_ids.
   * Defaults to true for docker archives, whose manifest.json names no digest, so the diff
   * id is the only check of a compressed layer; false for OCI archives, whose blobs are
   * already checked against their digests. Uncompressed layers are always checked, as
   * their digest is their diff id.
   */
  verifyDiffIDs?: boolean;
  /** Names the archive in error messages; defaults to the path, or "stream". */
  label?: string;
  signal?: AbortSignal;
}

/** JSON members larger than this are refused rather than read into memory. */
const MAX_JSON_MEMBER_SIZE = 32 * 1024 * 1024;
/** How deep nested indexes are followed. */
const MAX_INDEX_DEPTH = 8;

/**
 * Reads a docker-archive (classic `docker save` layout, skopeo's, or docker 25+'s OCI-style
 * one) or an OCI archive, telling them apart by `manifest.json`. The archive is streamed
 * once into a fresh directory under `tempDir`; layers are never held in memory. Every blob
 * is checked against the digest the format gives it, and each image's layer count against
 * its config's diff_ids. Errors are INVALID_ARCHIVE (malformed, unsafe or incomplete),
 * DIGEST_MISMATCH (content that does not match its digest) or FILE_NOT_FOUND; on error the
 * extraction directory is already removed.
 *
 * @example
 * const archive = await readImageArchive("busybox.tar", { tempDir: "/var/lib/tsbuild/tmp" });
 * try {
 *   for (const image of archive.images) console.log(image.names, image.layers.map((l) => l.digest));
 * } finally {
 *   await archive.dispose();
 * }
 */
export async function readImageArchive(source: string | Readable, options: ReadImageArchiveOptions = {}): Promise<ArchiveContents> {
  const label = options.label ?? (typeof source === "string" ? source : "stream");
  const parent = options.tempDir ?? tmpdir();
  const dir = await makeOwnedTempDir(parent, "archive").catch((error: Error) => {
    throw new TsbuildError("SYSTEM", `Cannot create a directory in "${parent}" to read image archive "${label}": ${error.message}`, { cause: error });
  });
  const dispose = (): Promise<void> => rm(dir, { recursive: true, force: true });
  try {
    const members = await extractArchiveMembers(source, dir, { label, signal: options.signal });
    if (members.get(ARCHIVE_MEMBERS.dockerManifest) !== undefined) {
      const context = { members, label, verifyDiffIDs: options.verifyDiffIDs ?? true };
      // A docker 25+ save of a multi-platform image is an OCI layout whose index.json names
      // the index (manifest.json lists one platform): read it as that, every platform kept.
      const images = (await namesAnIndex(context)) ? await readOciImages(context) : await readDockerImages(context);
      return { format: "docker", dir, images, dispose };
    }
    if (members.get(ARCHIVE_MEMBERS.index) !== undefined) {
      const context = { members, label, verifyDiffIDs: options.verifyDiffIDs ?? false };
      await checkOciLayout(context);
      const images = await readOciImages(context);
      return { format: "oci", dir, images, dispose };
    }
    throw invalid(label, `it has neither "manifest.json" (docker-archive) nor "index.json" (OCI archive)`);
  } catch (error) {
    await dispose();
    throw error;
  }
}

interface ReadContext {
  members: ArchiveMembers;
  label: string;
  verifyDiffIDs: boolean;
}

/** An image manifest found by walking index.json, with the names its top entry gives. */
interface IndexedImage {
  digest: Digest;
  mediaType: string;
  bytes: Buffer;
  manifest: ImageManifest;
  names: string[];
  refNames: string[];
  index?: { digest: Digest; mediaType: string; bytes: Buffer };
}

async function readDockerImages(context: ReadContext): Promise<ArchiveImageContents[]> {
  const { members, label } = context;
  const entries = parseDockerArchiveManifest(await readJsonMember(context, ARCHIVE_MEMBERS.dockerManifest), label);
  // Docker 25+ saves are OCI layouts too; their manifests give media types and the digest to check.
  const byConfig = new Map<Digest, IndexedImage>();
  if (members.get(ARCHIVE_MEMBERS.index) !== undefined) {
    for (const image of await indexedImages(context)) byConfig.set(image.manifest.config.digest, image);
  }
  const images: ArchiveImageContents[] = [];
  for (const [i, entry] of entries.entries()) {
    const configMember = requireMember(context, entry.Config);
    const bytes = await readJsonMember(context, entry.Config);
    // Docker and skopeo name the config `<hex>.json` after its digest.
    const namedHex = /^([0-9a-f]{64})\.json$/.exec(entry.Config)?.[1];
    if (namedHex !== undefined && configMember.digest !== `sha256:${namedHex}`) {
      throw mismatch(label, `member "${entry.Config}" has digest "${configMember.digest}"`);
    }
    const config = parseImageConfig(bytes, `image config "${entry.Config}" in image archive "${label}"`);
    const diffIDs = config.rootfs.diff_ids;
    if (entry.Layers.length !== diffIDs.length) {
      throw invalid(label, `image ${i} lists ${entry.Layers.length} layers but its config has ${diffIDs.length} diff ids`);
    }
    const indexed = byConfig.get(configMember.digest);
    if (indexed !== undefined && indexed.manifest.layers.length !== entry.Layers.length) {
      throw invalid(label, `image ${i} lists ${entry.Layers.length} layers but its manifest has ${indexed.manifest.layers.length}`);
    }
    const layers: ArchiveLayerContents[] = [];
    for (const [j, name] of entry.Layers.entries()) {
      const member = requireMember(context, name);
      const descriptor = indexed?.manifest.layers[j];
      if (descriptor !== undefined && descriptor.digest !== member.digest) {
        throw mismatch(label, `member "${name}" has digest "${member.digest}", its manifest says "${descriptor.digest}"`);
      }
      const mediaType = descriptor?.mediaType ?? layerMediaType(member);
      await checkDiffID(member, { ...context, diffID: diffIDs[j] });
      layers.push(layerOf(member, { diffID: diffIDs[j], mediaType }));
    }
    images.push({
      names: entry.RepoTags ?? [],
      refNames: indexed?.refNames ?? [],
      config: { digest: configMember.digest, bytes, parsed: config },
      manifest: indexed === undefined ? undefined : manifestOf(indexed),
      platform: platformOf(config),
      layers,
    });
  }
  return images;
}

async function readOciImages(context: ReadContext): Promise<ArchiveImageContents[]> {
  const { label } = context;
  const images: ArchiveImageContents[] = [];
  for (const indexed of await indexedImages(context)) {
    const what = `manifest "${indexed.digest}"`;
    const configMember = blobMember(context, indexed.manifest.config);
    const bytes = await readJsonMember(context, configMember.name);
    const config = parseImageConfig(bytes, `image config "${configMember.digest}" in image archive "${label}"`);
    const diffIDs = config.rootfs.diff_ids;
    if (indexed.manifest.layers.length !== diffIDs.length) {
      throw invalid(label, `${what} lists ${indexed.manifest.layers.length} layers but its config has ${diffIDs.length} diff ids`);
    }
    const layers: ArchiveLayerContents[] = [];
    for (const [j, descriptor] of indexed.manifest.layers.entries()) {
      const member = blobMember(context, descriptor);
      await checkDiffID(member, { ...context, diffID: diffIDs[j] });
      layers.push(layerOf(member, { diffID: diffIDs[j], mediaType: descriptor.mediaType }));
    }
    images.push({
      names: indexed.names,
      refNames: indexed.refNames,
      config: { digest: configMember.digest, bytes, parsed: config },
      manifest: manifestOf(indexed),
      platform: platformOf(config),
      layers,
      ...(indexed.index === undefined ? {} : { index: indexed.index }),
    });
  }
  return images;
}

async function checkOciLayout(context: ReadContext): Promise<void> {
  const { label } = context;
  const bytes = await readJsonMember(context, ARCHIVE_MEMBERS.ociLayout);
  let layout: unknown;
  try {
    layout = JSON.parse(bytes.toString("utf8"));
  } catch (error) {
    throw invalid(label, `member "oci-layout" is not JSON: ${(error as Error).message}`, { cause: error });
  }
  const version = (layout as { imageLayoutVersion?: unknown } | null)?.imageLayoutVersion;
  if (typeof version !== "string") throw invalid(label, `member "oci-layout" has no imageLayoutVersion`);
}

/**
 * Every image manifest index.json leads to, following nested indexes (multi-platform
 * images), in index order, one per manifest digest with the names of all entries that
 * lead to it. Artifacts (attestations, signatures) are skipped; so is a platform of a
 * nested index whose manifest the archive leaves out, as containerd exports only the
 * platforms it has.
 */
async function indexedImages(context: ReadContext): Promise<IndexedImage[]> {
  const { members, label } = context;
  const index = parseImageIndex(await readJsonMember(context, ARCHIVE_MEMBERS.index), `index.json in image archive "${label}"`);
  const found = new Map<Digest, IndexedImage>();
  const walk = async (descriptor: Descriptor, top: Descriptor, depth: number, topIndex?: IndexedImage["index"]): Promise<void> => {
    if (depth > 0 && members.get(blobMemberName(descriptor.digest)) === undefined) return;
    if (isIndexMediaType(descriptor.mediaType)) {
      if (depth >= MAX_INDEX_DEPTH) throw invalid(label, `indexes are nested more than ${MAX_INDEX_DEPTH} deep`);
      const member = blobMember(context, descriptor);
      const indexBytes = await readJsonMember(context, member.name);
      const nested = parseImageIndex(indexBytes, `index "${descriptor.digest}" in image archive "${label}"`);
      // The index an index.json entry names is the multi-platform image itself.
      const multi = topIndex ?? { digest: descriptor.digest, mediaType: descriptor.mediaType, bytes: indexBytes };
      for (const child of nested.manifests) await walk(child, top, depth + 1, multi);
      return;
    }
    if (!isManifestMediaType(descriptor.mediaType) || isAttestation(descriptor)) return;
    const member = blobMember(context, descriptor);
    const bytes = await readJsonMember(context, member.name);
    const manifest = parseImageManifest(bytes, `manifest "${descriptor.digest}" in image archive "${label}"`);
    if (!isConfigMediaType(manifest.config.mediaType)) return;
    if (!manifest.layers.every((layer) => isLayerMediaType(layer.mediaType))) return;
    const image = found.get(descriptor.digest) ?? {
      digest: descriptor.digest,
      mediaType: descriptor.mediaType,
      bytes,
      manifest,
      names: [],
      refNames: [],
      ...(topIndex === undefined ? {} : { index: topIndex }),
    };
    found.set(descriptor.digest, image);
    const name = top.annotations?.[CONTAINERD_IMAGE_NAME_ANNOTATION];
    const refName = top.annotations?.[REF_NAME_ANNOTATION];
    if (name !== undefined && !image.names.includes(name)) image.names.push(name);
    if (refName !== undefined && !image.refNames.includes(refName)) image.refNames.push(refName);
  };
  for (const descriptor of index.manifests) await walk(descriptor, descriptor, 0);
  return [...found.values()];
}

/** True when the archive's index.json (if any) has an image index among its entries. */
async function namesAnIndex(context: ReadContext): Promise<boolean> {
  if (context.members.get(ARCHIVE_MEMBERS.index) === undefined) return false;
  const index = parseImageIndex(await readJsonMember(context, ARCHIVE_MEMBERS.index), `index.json in image archive "${context.label}"`);
  return index.manifests.some((entry) => isIndexMediaType(entry.mediaType));
}

/**
 * BuildKit puts provenance and SBOM manifests beside the images of an index; they have an
 * image config media type but in-toto layers, and this annotation.
 */
function isAttestation(descriptor: Descriptor): boolean {
  return descriptor.annotations?.["vnd.docker.reference.type"] === "attestation-manifest";
}

/** Checks a layer against its diff id: directly when uncompressed, through gunzip if asked. */
async function checkDiffID(member: ArchiveMember, context: ReadContext & { diffID: Digest }): Promise<void> {
  const { diffID } = context;
  const compression = compressionOf(member);
  if (compression === "none") {
    if (member.digest !== diffID) throw mismatch(context.label, `member "${member.name}" has digest "${member.digest}", its config says "${diffID}"`);
    return;
  }
  // Node 20 has no zstd decoder; a zstd layer is checked when it is unpacked.
  if (compression !== "gzip" || !context.verifyDiffIDs) return;
  const digester = new Digester();
  try {
    await pipeline(createReadStream(member.file), zlib().createGunzip(), async (chunks: AsyncIterable<Buffer>) => {
      for await (const chunk of chunks) digester.update(chunk);
    });
  } catch (error) {
    throw invalid(context.label, `member "${member.name}" is not valid gzip: ${(error as Error).message}`, { cause: error });
  }
  const actual = digester.digest();
  if (actual !== diffID) throw mismatch(context.label, `member "${member.name}" has diff id "${actual}", its config says "${diffID}"`);
}

function compressionOf(member: ArchiveMember): "none" | "gzip" | "zstd" {
  const head = member.head;
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return "gzip";
  if (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528) return "zstd";
  return "none";
}

function layerMediaType(member: ArchiveMember): string {
  const compression = compressionOf(member);
  if (compression === "gzip") return OCI_MEDIA_TYPES.layerGzip;
  if (compression === "zstd") return OCI_MEDIA_TYPES.layerZstd;
  return OCI_MEDIA_TYPES.layer;
}

function layerOf(member: ArchiveMember, { diffID, mediaType }: { diffID: Digest; mediaType: string }): ArchiveLayerContents {
  return {
    digest: member.digest,
    diffID,
    mediaType,
    size: member.size,
    path: member.file,
    open: () => createReadStream(member.file),
  };
}

function manifestOf(indexed: IndexedImage): NonNullable<ArchiveImageContents["manifest"]> {
  return { digest: indexed.digest, mediaType: indexed.mediaType, bytes: indexed.bytes, parsed: indexed.manifest };
}

function platformOf(config: ImageConfig): Platform {
  const platform: Platform = { architecture: config.architecture, os: config.os };
  if (config.variant !== undefined) platform.variant = config.variant;
  return platform;
}

function requireMember({ members, label }: ReadContext, name: string): ArchiveMember {
  const member = members.get(name);
  if (member === undefined) throw invalid(label, `member "${name}" is missing`);
  return member;
}

/** The blob a descriptor points at, checked against the descriptor's digest and size. */
function blobMember(context: ReadContext, descriptor: Descriptor): ArchiveMember {
  const { label } = context;
  const name = blobMemberName(descriptor.digest);
  const member = requireMember(context, name);
  // Checked again here: a link member could make one blob name stand for another's content.
  if (member.digest !== descriptor.digest) throw mismatch(label, `member "${name}" has digest "${member.digest}"`);
  if (member.size !== descriptor.size) {
    throw mismatch(label, `member "${name}" has ${member.size} bytes, its descriptor says ${descriptor.size}`);
  }
  return member;
}

async function readJsonMember(context: ReadContext, name: string): Promise<Buffer> {
  const { label } = context;
  const member = requireMember(context, name);
  if (member.size > MAX_JSON_MEMBER_SIZE) {
    throw invalid(label, `member "${name}" has ${member.size} bytes, more than the ${MAX_JSON_MEMBER_SIZE} allowed for JSON`);
  }
  return readFile(member.file);
}

function invalid(label: string, what: string, options: { cause?: unknown } = {}): TsbuildError {
  return new TsbuildError("INVALID_ARCHIVE", `Invalid image archive "${label}": ${what}`, options);
}

function mismatch(label: string, what: string): TsbuildError {
  return new TsbuildError("DIGEST_MISMATCH", `Image archive "${label}" is corrupt: ${what}`);
}
