import { TsbuildError } from "../errors.js";
import type { Digest } from "../oci/digest.js";
import { computeChainIds, type ContainerConfig, type Descriptor, type HistoryEntry, type ImageConfig } from "../oci/image-types.js";
import type { LayerCompression } from "../oci/layer-compression.js";
import { storeSnapshotLayer } from "./store-snapshot-layer.js";
import { hostPlatform, resolveImage, type ResolvedImage } from "./resolve-image.js";
import { checkImageName, writeImage, type WrittenImage } from "./write-image.js";
import type { Worker } from "./worker.js";

export interface CommitImageOptions {
  /** The active snapshot whose changes become the new layer. */
  activeSnapshotKey: string;
  /**
   * The image the snapshot was prepared on (its top chain id must be the snapshot's
   * parent); undefined for an image from scratch.
   */
  parentImage?: string;
  /**
   * The committed snapshot the active one sits on when that is not the parent image's top
   * layer but a layer of mount points only over it (a container's init layer).
   */
  snapshotParent?: string;
  /** The new history entry. */
  history?: { createdBy?: string; comment?: string; author?: string };
  /** Run-time settings merged over the parent's (docker's `commit --change`, as data). */
  config?: ContainerConfig;
  /** Name the new image; without one it is dangling. */
  name?: string;
  /** Default none: the store keeps layers uncompressed; push and save compress them. */
  compression?: LayerCompression;
  /** Clamp file times in the layer (seconds); default $SOURCE_DATE_EPOCH, null for none. */
  sourceDateEpoch?: number | null;
  /** The new image's creation time. Default: now. */
  created?: Date;
}

export interface CommitImageResult extends WrittenImage {
  diffId: Digest;
  /** The chain id of the new top layer: the key its snapshot would have once unpacked. */
  chainId: Digest;
  layer: Descriptor;
  uncompressedSize: number;
}

/**
 * docker's `commit`: diffs an active snapshot against its parent into a layer blob, and
 * writes an image that is the parent image plus that layer: its config gains the diff id and
 * a history entry, its manifest the layer. The snapshot is left as it is (still active).
 * A lease covers the new blobs until the image is recorded.
 *
 * @example
 * const { top } = await unpackImage(worker, "busybox");
 * await snapshotter.prepare("c1", top);   // mount, change files, unmount
 * await commitImage(worker, { parentImage: "busybox", activeSnapshotKey: "c1", history: { createdBy: "touch /x" } });
 */
export async function commitImage(worker: Worker, options: CommitImageOptions): Promise<CommitImageResult> {
  const name = options.name === undefined ? undefined : checkImageName(options.name);
  const store = worker.store;
  const snapshotter = await worker.snapshotter();
  const parent = options.parentImage === undefined ? undefined : await resolveImage(store, options.parentImage);
  await checkSnapshotParent(worker, options.activeSnapshotKey, parent, options.snapshotParent);

  const lease = await store.refs.acquireLease();
  try {
    const diff = await storeSnapshotLayer(store, snapshotter, options.activeSnapshotKey, {
      ...(options.compression === undefined ? {} : { compression: options.compression }),
      ...(options.sourceDateEpoch === undefined ? {} : { sourceDateEpoch: options.sourceDateEpoch }),
    });
    const layer: Descriptor = { mediaType: diff.mediaType, digest: diff.digest, size: diff.size };

    const created = (options.created ?? new Date()).toISOString();
    const base: ImageConfig = parent?.config ?? { ...hostPlatform(), rootfs: { type: "layers", diff_ids: [] } };
    const entry: HistoryEntry = { created };
    if (options.history?.author !== undefined) entry.author = options.history.author;
    if (options.history?.createdBy !== undefined) entry.created_by = options.history.createdBy;
    if (options.history?.comment !== undefined) entry.comment = options.history.comment;
    const config: ImageConfig = {
      ...base,
      created,
      config: { ...(base.config ?? {}), ...(options.config ?? {}) },
      rootfs: { type: "layers", diff_ids: [...base.rootfs.diff_ids, diff.diffId] },
      history: [...(base.history ?? []), entry],
    };
    if (options.history?.author !== undefined) config.author = options.history.author;
    // docker's commit -m is the new image's comment too (`inspect` shows it as "Comment");
    // a parent's comment describes the parent, not this image.
    delete config.comment;
    if (options.history?.comment !== undefined) config.comment = options.history.comment;
    const layers = [...(parent?.manifest.layers ?? []), layer];
    const written = await writeImage(store, { config, layers, ...(name === undefined ? {} : { name }) });
    const chainIds = computeChainIds(config.rootfs.diff_ids);
    return { ...written, diffId: diff.diffId, chainId: chainIds[chainIds.length - 1], layer, uncompressedSize: diff.uncompressedSize };
  } finally {
    await lease.release().catch(() => undefined); // a lease left behind dies with this process and is dropped on the next open
  }
}

/** The snapshot must be active and sit on the parent image's top layer (or on nothing). */
async function checkSnapshotParent(worker: Worker, key: string, parent: ResolvedImage | undefined, snapshotParent: string | undefined): Promise<void> {
  const snapshotter = await worker.snapshotter();
  const info = await snapshotter.stat(key);
  if (info.kind !== "active") throw new TsbuildError("CONFLICT", `Cannot commit snapshot "${key}": it is ${info.kind}, not active`);
  const chainIds = computeChainIds(parent?.config.rootfs.diff_ids ?? []);
  const top = chainIds[chainIds.length - 1];
  // Through a given intermediate layer, that layer must sit on the image's top in turn.
  const expected = snapshotParent !== undefined && (await snapshotter.stat(snapshotParent)).parent === top ? snapshotParent : top;
  if (info.parent !== expected) {
    throw new TsbuildError(
      "CONFLICT",
      `Cannot commit snapshot "${key}": it is based on "${info.parent ?? "nothing"}", not on the top layer "${expected ?? "nothing"}" of the parent image`,
      { hint: "Prepare the snapshot on the parent image's unpacked top layer" },
    );
  }
}
