import { createReadStream, createWriteStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { TsbuildError } from "../errors.js";
import { fromSystemError } from "../util/system-error.js";
import { Digester, type Digest } from "../oci/digest.js";
import type { ContainerConfig, Descriptor, ImageConfig, Platform } from "../oci/image-types.js";
import { LAYER_MEDIA_TYPES, openDecompressed } from "../oci/layer-compression.js";
import { LayerReader } from "../oci/layer-reader.js";
import { recordLayerSize } from "./layer-sizes.js";
import { makeStagingDir } from "./staging-dir.js";
import { hostPlatform } from "./resolve-image.js";
import { removeCreated, unpackLayers } from "./unpack-image.js";
import { checkImageName, writeImage, type WrittenImage } from "./write-image.js";
import type { Worker } from "./worker.js";

export interface ImportRootfsOptions {
  /** Name the image (`app:1.0`); without one it is dangling, as `docker import` leaves it. */
  name?: string;
  /** The history comment; default `Imported from <label>`, as docker writes it. */
  message?: string;
  /** Run-time defaults of the image (docker's `--change`, as data). */
  config?: ContainerConfig;
  /** Default: this host's platform. */
  platform?: Platform;
  /** Also unpack the layer into a snapshot (checking that it is safe to apply). Default true. */
  unpack?: boolean;
  /** Names the source in the history comment and in errors; default the path, or "-". */
  label?: string;
  /** Where the uncompressed tar is staged; default `<root>/tmp`. */
  tempDir?: string;
  /** The image's creation time. Default: now. */
  created?: Date;
}

export interface ImportRootfsResult extends WrittenImage {
  diffId: Digest;
  layer: Descriptor;
  uncompressedSize: number;
}

/**
 * docker's `import`: a root file system tar (plain, gzip or zstd) becomes a one-layer image.
 * The tar is staged uncompressed (hashed on the way: its digest is the diff id), checked by
 * unpacking it (or reading it through when `unpack` is false), copied into the content store
 * uncompressed (push and save compress it), and given a config with one history entry and an
 * OCI manifest. Under a lease throughout, so a concurrent `rmi` cannot collect the new blobs
 * before the image is named.
 */
export async function importRootfs(worker: Worker, source: string | Readable, options: ImportRootfsOptions = {}): Promise<ImportRootfsResult> {
  const label = options.label ?? (typeof source === "string" ? source : "-");
  const name = options.name === undefined ? undefined : checkImageName(options.name);
  const store = worker.store;
  const staging = options.tempDir === undefined ? await makeStagingDir(worker.root, "import") : await mkdtemp(join(options.tempDir, "tsbuild-import-"));
  const lease = await store.refs.acquireLease();
  const created: string[] = [];
  try {
    const tar = join(staging, "layer.tar");
    const { diffId, size } = await stageUncompressed(source, tar, label);
    if (options.unpack === false) await readThrough(tar, label);
    else created.push(...(await unpackLayers(worker, { layers: [{ diffId, open: () => createReadStream(tar) }], lease })).created);

    // Kept uncompressed, as a build's layers are; staging hashed it already (its digest is the diff id).
    const ingest = await store.content.ingest();
    try {
      await pipeline(createReadStream(tar), ingest.stream);
      await ingest.commit({ digest: diffId, size });
    } catch (error) {
      await ingest.abort();
      throw fromSystemError(error, `Cannot store a layer in "${store.paths.content}"`) ?? error;
    }
    await recordLayerSize(store, { diffId, size });
    const layer: Descriptor = { mediaType: LAYER_MEDIA_TYPES.none, digest: diffId, size };

    const createdAt = (options.created ?? new Date()).toISOString();
    const platform = options.platform ?? hostPlatform();
    const config: ImageConfig = {
      ...platform,
      created: createdAt,
      config: options.config ?? {},
      rootfs: { type: "layers", diff_ids: [diffId] },
      history: [{ created: createdAt, comment: options.message ?? `Imported from ${label}` }],
    };
    const written = await writeImage(store, { config, layers: [layer], ...(name === undefined ? {} : { name }) });
    return { ...written, diffId, layer, uncompressedSize: size };
  } catch (error) {
    if (created.length > 0) await removeCreated(await worker.snapshotter(), created);
    throw error;
  } finally {
    await lease.release().catch(() => undefined); // a lease left behind dies with this process and is dropped on the next open
    await rm(staging, { recursive: true, force: true });
  }
}

/** Copies the source, decompressed, to `path`; returns the tar's digest (the diff id) and size. */
async function stageUncompressed(source: string | Readable, path: string, label: string): Promise<{ diffId: Digest; size: number }> {
  const input = typeof source === "string" ? createReadStream(source) : source;
  const opened = await new Promise<Readable>((resolve, reject) => {
    if (typeof source !== "string") return resolve(input);
    input.once("open", () => resolve(input)).once("error", reject);
  }).catch((error: NodeJS.ErrnoException) => {
    const reason = error.code === "ENOENT" ? "no such file" : error.code === "EISDIR" ? "it is a directory" : error.message;
    throw new TsbuildError("FILE_NOT_FOUND", `Cannot read "${label}": ${reason}`, { cause: error });
  });
  const { stream } = await openDecompressed(opened);
  const digester = new Digester();
  await pipeline(
    stream,
    async function* (chunks: AsyncIterable<Buffer>) {
      for await (const chunk of chunks) {
        digester.update(chunk);
        yield chunk;
      }
    },
    createWriteStream(path, { flags: "wx", mode: 0o600 }),
  ).catch((error: unknown) => {
    // A full disk names the staging file, not a bare "write".
    throw fromSystemError(error, `Cannot stage "${label}" in "${path}"`) ?? error;
  });
  if (digester.size === 0) throw new TsbuildError("INVALID_ARCHIVE", `Cannot import "${label}": it is empty`);
  return { diffId: digester.digest(), size: digester.size };
}

/** Reads every entry of the tar, so that a malformed one fails the import. */
async function readThrough(path: string, label: string): Promise<void> {
  const reader = new LayerReader(createReadStream(path));
  try {
    for await (const entry of reader.entries()) for await (const _ of entry.body) void _;
  } catch (error) {
    if (error instanceof TsbuildError) throw new TsbuildError(error.code, `Cannot import "${label}": ${error.message}`, { cause: error });
    throw error;
  }
}
