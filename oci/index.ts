/** `tsbuild/oci`: image references, digests and the OCI image types. */
export { normalizeReference, parseReference, familiarString, type ImageReference } from "./reference.js";
export { digestOf, isDigest, type Digest } from "./digest.js";
export type { Descriptor, HistoryEntry, ImageConfig, ImageIndex, ImageManifest, Platform } from "./image-types.js";
