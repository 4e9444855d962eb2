/** `tsbuild/snapshotter`: containerd's snapshotter interface, overlayfs and native. */
export { createSnapshotter } from "./create-snapshotter.js";
export type { Mount, Snapshotter, SnapshotInfo, SnapshotKind } from "./types.js";
