import { Readable } from "node:stream";
import { isTsbuildError, TsbuildError } from "../errors.js";
import type { Digest } from "../oci/digest.js";
import { computeChainIds, type Platform } from "../oci/image-types.js";
import { openDecompressed } from "../oci/layer-compression.js";
import type { Snapshotter } from "../snapshotter/types.js";
import type { Lease } from "../store/ref-store.js";
import { cancelledError } from "../util/cancelled-error.js";
import { recordLayerSize } from "./layer-sizes.js";
import { resolveImage, type ResolvedImage } from "./resolve-image.js";
import type { Worker } from "./worker.js";

/** One layer to unpack: its diff id and a way to read its blob (any compression). */
export interface UnpackLayer {
  diffId: Digest;
  open(): Readable | Promise<Readable>;
}

export interface UnpackLayersOptions {
  /** Base layer first. */
  layers: UnpackLayer[];
  /** A lease to hold the chain ids with; default: one taken and released here. */
  lease?: Lease;
  signal?: AbortSignal;
  /** Called as each layer is in place (unpacked now, or found unpacked): the `index`-th of `count`. */
  onLayer?: (diffId: Digest, index: number, count: number) => void;
}

export interface UnpackLayersResult {
  /** The chain id of every layer, base first: the keys of their committed snapshots. */
  chainIds: Digest[];
  /** The snapshots this call created (the others existed). */
  created: Digest[];
}

export interface UnpackImageOptions extends Omit<UnpackLayersOptions, "layers"> {
  /** For a multi-platform image: the platform to unpack. Default: this host's. */
  platform?: Platform;
  /** Also an image no record names any more, by digest, whose blobs a lease holds (`resolveImage`'s `fromContent`). */
  fromContent?: boolean;
  /** `reference` as the caller resolved it already (the other options then go unused for it). */
  image?: ResolvedImage;
}

export interface UnpackImageResult extends UnpackLayersResult {
  image: ResolvedImage;
  /**
   * The key of the top layer's committed snapshot, to `prepare` a container or build step
   * on; undefined for an image without layers.
   */
  top: Digest | undefined;
}

/** The label tsbuild puts on unpacked layers: the diff id they were applied from. */
export const DIFF_ID_LABEL = "tsbuild.diff-id";

/**
 * Unpacks an image of the store into committed snapshots keyed by chain id, one per layer,
 * reusing the ones that exist. While it runs a lease holds the chain ids, so a concurrent
 * `rmi` or `prune` leaves them alone; afterwards the image's own record holds them.
 *
 * @example
 * const { top } = await unpackImage(worker, "busybox");
 * await (await worker.snapshotter()).prepare("build-1", top);
 */
export async function unpackImage(worker: Worker, reference: string, options: UnpackImageOptions = {}): Promise<UnpackImageResult> {
  const image =
    options.image ??
    (await resolveImage(worker.store, reference, {
      ...(options.platform === undefined ? {} : { platform: options.platform }),
      ...(options.fromContent === undefined ? {} : { fromContent: options.fromContent }),
    }));
  const { manifest, config } = image;
  if (manifest.layers.length !== config.rootfs.diff_ids.length) {
    throw new TsbuildError(
      "INVALID_ARCHIVE",
      `Cannot unpack image "${reference}": its manifest has ${manifest.layers.length} layers but its config has ${config.rootfs.diff_ids.length} diff ids`,
    );
  }
  const layers = manifest.layers.map((layer, i) => ({
    diffId: config.rootfs.diff_ids[i],
    open: () => worker.store.content.openStream(layer.digest),
  }));
  const result = await unpackLayers(worker, { ...options, layers });
  return { ...result, image, top: result.chainIds[result.chainIds.length - 1] };
}

/**
 * Applies layers (base first) as committed snapshots keyed by chain id, skipping those
 * present. Each layer is checked against its diff id; on any failure the snapshots made
 * here are removed again, so nothing is left behind.
 */
export async function unpackLayers(worker: Worker, options: UnpackLayersOptions): Promise<UnpackLayersResult> {
  const { layers } = options;
  const snapshotter = await worker.snapshotter();
  const chainIds = computeChainIds(layers.map((layer) => layer.diffId));
  const lease = options.lease ?? (await worker.store.refs.acquireLease());
  const created: Digest[] = [];
  try {
    // Held before looking for existing snapshots: a collector running meanwhile spares them.
    await lease.hold({ snapshots: chainIds });
    for (const [i, layer] of layers.entries()) {
      if (options.signal?.aborted) throw cancelledError("Unpacking was cancelled", options.signal);
      const key = chainIds[i];
      if (await isCommitted(snapshotter, key)) {
        options.onLayer?.(layer.diffId, i, layers.length);
        continue;
      }
      const counted = await countUncompressed(await layer.open());
      try {
        await snapshotter.apply(key, counted.stream, {
          ...(i > 0 ? { parent: chainIds[i - 1] } : {}),
          expectedDiffId: layer.diffId,
          labels: { [DIFF_ID_LABEL]: layer.diffId },
        });
      } catch (error) {
        counted.stream.destroy(); // close the blob when apply stopped before its end
        // Another process may have unpacked the same layer meanwhile.
        if (isTsbuildError(error, "CONFLICT") && (await isCommitted(snapshotter, key))) continue;
        throw error;
      }
      created.push(key);
      await recordLayerSize(worker.store, { diffId: layer.diffId, size: counted.size() });
      options.onLayer?.(layer.diffId, i, layers.length);
    }
    return { chainIds, created };
  } catch (error) {
    await removeCreated(snapshotter, created);
    throw error;
  } finally {
    if (options.lease === undefined) await lease.release();
  }
}

/** Removes snapshots made by a failed operation, top first; best effort. */
export async function removeCreated(snapshotter: Snapshotter, created: readonly string[]): Promise<void> {
  for (const key of [...created].reverse()) await snapshotter.remove(key).catch(() => undefined); // best effort after a failure: an unreferenced snapshot goes with the next prune
}

async function isCommitted(snapshotter: Snapshotter, key: string): Promise<boolean> {
  try {
    const info = await snapshotter.stat(key);
    if (info.kind !== "committed") {
      throw new TsbuildError("CONFLICT", `Cannot unpack layer "${key}": a snapshot of that key exists and is ${info.kind}`);
    }
    return true;
  } catch (error) {
    if (isTsbuildError(error, "NOT_FOUND")) return false;
    throw error;
  }
}

/** The uncompressed tar of a layer blob, counting its bytes on the way. */
async function countUncompressed(blob: Readable): Promise<{ stream: Readable; size: () => number }> {
  const { stream } = await openDecompressed(blob);
  let size = 0;
  const counted = Readable.from(
    (async function* () {
      for await (const chunk of stream) {
        size += (chunk as Buffer).length;
        yield chunk as Buffer;
      }
    })(),
    { objectMode: false },
  );
  return { stream: counted, size: () => size };
}
