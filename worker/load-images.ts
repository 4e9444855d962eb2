import { createReadStream } from "node:fs";
import { rm } from "node:fs/promises";
import type { Readable } from "node:stream";
import { TsbuildError } from "../errors.js";
import type { Digest } from "../oci/digest.js";
import { readImageArchive, type ArchiveImageContents } from "../oci/archive-reader.js";
import { createDescriptor, createImageManifest, serializeJson, type Descriptor } from "../oci/image-types.js";
import { DOCKER_MEDIA_TYPES, OCI_MEDIA_TYPES } from "../oci/media-types.js";
import { familiarString, parseReference, withDefaultTag } from "../oci/reference.js";
import { hostPlatform } from "./resolve-image.js";
import { makeStagingDir } from "./staging-dir.js";
import { removeCreated, unpackLayers } from "./unpack-image.js";
import { checkImageName } from "./write-image.js";
import type { Worker } from "./worker.js";

export interface LoadImagesOptions {
  /** Also unpack every image into snapshots (checking that its layers are safe). Default true. */
  unpack?: boolean;
  /** Names the archive in errors; default the path, or "stream". */
  label?: string;
  /** Where the archive is extracted while it loads; default `<root>/tmp`. */
  tempDir?: string;
  signal?: AbortSignal;
}

/** One image that was loaded. */
export interface LoadedImage {
  /** The image id (config digest). */
  id: Digest;
  manifestDigest: Digest;
  /** Names as docker shows them (`busybox:latest`); empty for an image loaded nameless. */
  names: string[];
  /** Names that pointed at another image before, which stays, nameless (as docker does). */
  renamed: Array<{ name: string; previousId: Digest }>;
}

export interface LoadImagesResult {
  images: LoadedImage[];
}

/**
 * docker's `load`: reads a docker-archive or an OCI archive (oci/archive-reader.ts checks
 * every blob), unpacks each image's layers (where unsafe layers are refused, before anything
 * reaches the content store), then stores the blobs and names the images. A docker-archive
 * image without a manifest gets an OCI manifest over its blobs as they are (gzip stays gzip).
 * On failure the snapshots made are removed and no image is recorded.
 */
export async function loadImages(worker: Worker, source: string | Readable, options: LoadImagesOptions = {}): Promise<LoadImagesResult> {
  const unpack = options.unpack ?? true;
  const store = worker.store;
  // The reader makes its own directory inside; a staging one of ours marks it as this process's.
  const staging = options.tempDir === undefined ? await makeStagingDir(worker.root, "load") : undefined;
  const archive = await readImageArchive(source, {
    // An unpack checks each layer against its diff id anyway; do not decompress twice.
    verifyDiffIDs: !unpack,
    tempDir: staging ?? options.tempDir,
    ...(options.label === undefined ? {} : { label: options.label }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  }).catch(async (error: unknown) => {
    if (staging !== undefined) await rm(staging, { recursive: true, force: true });
    throw error;
  });
  const label = options.label ?? (typeof source === "string" ? source : "stream");
  const lease = await store.refs.acquireLease();
  const created: string[] = [];
  try {
    // A multi-platform image of an OCI archive is kept whole: every platform it holds, named
    // through its index. Other images of several platforms under one name: this host's.
    const plans = [
      ...forThisPlatform(archive.images.filter((image) => image.index === undefined).map((image) => ({ image, names: namesOf(image, label) }))),
      ...archive.images.filter((image) => image.index !== undefined).map((image) => ({ image, names: [] as string[] })),
    ];
    if (unpack) {
      for (const { image } of plans) {
        const layers = image.layers.map((layer) => ({ diffId: layer.diffID, open: () => layer.open() }));
        created.push(...(await unpackLayers(worker, { layers, lease, ...(options.signal === undefined ? {} : { signal: options.signal }) })).created);
      }
    }
    const loaded: LoadedImage[] = [];
    for (const { image, names } of plans) {
      // A platform of an index is written whole with it; a single image may already be stored.
      let manifestDigest = image.index === undefined ? await storedTwin(worker, image.config.digest, names) : undefined;
      if (manifestDigest === undefined) {
        for (const layer of image.layers) {
          await store.content.write(createReadStream(layer.path), { digest: layer.digest, size: layer.size });
        }
        await store.content.write(image.config.bytes, { digest: image.config.digest });
        manifestDigest = await writeManifest(worker, image);
      }
      if (image.index !== undefined) continue; // recorded through its index, below
      loaded.push({ id: image.config.digest, manifestDigest, ...(await record(worker, names, manifestDigest)) });
    }
    for (const image of archive.images) {
      const index = image.index;
      if (index === undefined || loaded.some((entry) => entry.manifestDigest === index.digest)) continue;
      await store.content.write(index.bytes, { digest: index.digest });
      loaded.push({ id: index.digest, manifestDigest: index.digest, ...(await record(worker, namesOf(image, label), index.digest)) });
    }
    return { images: loaded };
  } catch (error) {
    if (created.length > 0) await removeCreated(await worker.snapshotter(), created);
    throw error;
  } finally {
    await lease.release().catch(() => undefined); // a lease left behind dies with this process and is dropped on the next open
    await archive.dispose();
    if (staging !== undefined) await rm(staging, { recursive: true, force: true });
  }
}

/** Names the image (or index) at `digest`, or records it nameless; says which names pointed elsewhere before. */
async function record(worker: Worker, names: readonly string[], digest: Digest): Promise<Pick<LoadedImage, "names" | "renamed">> {
  const renamed: LoadedImage["renamed"] = [];
  for (const name of names) {
    const previous = await worker.store.images.find(name);
    if (previous !== undefined && previous.digest !== digest) renamed.push({ name: familiarString(parseReference(name)), previousId: previous.id });
    await worker.store.images.tag(name, digest);
  }
  if (names.length === 0) await worker.store.images.keep(digest);
  return { names: names.map((name) => familiarString(parseReference(name))), renamed };
}

/**
 * The stored image with this config (this id), preferring one a name already points at. An
 * image saved from this store comes back with its layers compressed, so with another
 * manifest: it is still the same image, and loading it only names it again, as docker does.
 */
async function storedTwin(worker: Worker, id: Digest, names: string[]): Promise<Digest | undefined> {
  const twins = (await worker.store.images.list()).filter((image) => image.id === id);
  return (twins.find((image) => image.names.some((name) => names.includes(name))) ?? twins[0])?.digest;
}

/** Stores the archive's manifest as it is, or writes an OCI one over the stored blobs. */
async function writeManifest(worker: Worker, image: ArchiveImageContents): Promise<Digest> {
  if (image.manifest !== undefined) {
    await worker.store.content.write(image.manifest.bytes, { digest: image.manifest.digest });
    return image.manifest.digest;
  }
  const config: Descriptor = { mediaType: OCI_MEDIA_TYPES.config, digest: image.config.digest, size: image.config.bytes.byteLength };
  const layers: Descriptor[] = image.layers.map((layer) => ({ mediaType: ociLayerType(layer.mediaType), digest: layer.digest, size: layer.size }));
  const bytes = serializeJson(createImageManifest(config, layers));
  const descriptor = createDescriptor(OCI_MEDIA_TYPES.manifest, bytes);
  await worker.store.content.write(bytes, { digest: descriptor.digest, size: descriptor.size });
  return descriptor.digest;
}

function ociLayerType(mediaType: string): string {
  return mediaType === DOCKER_MEDIA_TYPES.layerGzip ? OCI_MEDIA_TYPES.layerGzip : mediaType;
}

/**
 * A multi-platform image comes out of an archive as one image per platform, all with the
 * same names; the store records single images, so of those only this host's platform is
 * loaded (or the first, when none is this host's).
 */
function forThisPlatform<T extends { image: ArchiveImageContents; names: string[] }>(plans: T[]): T[] {
  const host = hostPlatform();
  const isHost = (plan: T): boolean => plan.image.platform.os === host.os && plan.image.platform.architecture === host.architecture;
  return plans.filter((plan, i) => {
    if (plan.names.length === 0 || isHost(plan)) return true;
    const rivals = plans.filter((other, j) => j !== i && other.names.some((name) => plan.names.includes(name)));
    return !rivals.some((other) => isHost(other) || plans.indexOf(other) < i);
  });
}

/**
 * The full names to give an image: docker's RepoTags, containerd's name annotations, or a
 * `ref.name` that is a whole `name:tag` (skopeo writes what it was given after the archive
 * path; a bare tag such as `latest` names no repository and is left out).
 */
function namesOf(image: ArchiveImageContents, label: string): string[] {
  const names = new Set<string>();
  const add = (text: string): void => {
    try {
      names.add(checkImageName(text));
    } catch (error) {
      throw new TsbuildError("INVALID_ARCHIVE", `Invalid image archive "${label}": image name "${text}" is not a valid reference`, { cause: error });
    }
  };
  for (const name of image.names) add(name);
  if (image.names.length === 0) {
    for (const refName of image.refNames) {
      if (!/[:/]/.test(refName)) continue;
      try {
        const reference = parseReference(refName);
        if (reference.digest === undefined) names.add(checkImageName(familiarString(withDefaultTag(reference))));
      } catch {
        // Not a reference: a tag only some tools understand; the image stays nameless.
      }
    }
  }
  return [...names];
}
