/** The worker: one root's store and snapshotter joined by the image operations. */
export { openWorker, Worker, type OpenWorkerOptions } from "./worker.js";
export { resolveImage, hostPlatform, type ResolvedImage, type ResolveImageOptions } from "./resolve-image.js";
export {
  unpackImage,
  unpackLayers,
  DIFF_ID_LABEL,
  type UnpackImageOptions,
  type UnpackImageResult,
  type UnpackLayer,
  type UnpackLayersOptions,
  type UnpackLayersResult,
} from "./unpack-image.js";
export { importRootfs, type ImportRootfsOptions, type ImportRootfsResult } from "./import-rootfs.js";
export { loadImages, type LoadImagesOptions, type LoadImagesResult, type LoadedImage } from "./load-images.js";
export { saveImages, type SaveImagesOptions, type SaveImagesResult } from "./save-images.js";
export { listImages, type ListImagesOptions, type ImageListEntry } from "./list-images.js";
export { tagImage } from "./tag-image.js";
export { removeImages, type RemoveImagesOptions, type RemoveImagesResult, type RemovedImage } from "./remove-images.js";
export { inspectImage, type ImageInspect } from "./inspect-image.js";
export { imageHistory, type HistoryRow } from "./image-history.js";
export { pruneImages, type PruneImagesOptions, type PruneImagesResult } from "./prune-images.js";
export { diskUsage, type DiskUsageRow } from "./disk-usage.js";
export { fsck, type WorkerFsckReport } from "./fsck.js";
export { commitImage, type CommitImageOptions, type CommitImageResult } from "./commit-image.js";
export { collectSnapshots, type SnapshotCollection } from "./snapshot-collector.js";
export { type WrittenImage } from "./write-image.js";
export { humanSize, humanDuration, humanAgo, formatTable, ellipsis } from "./human-units.js";
