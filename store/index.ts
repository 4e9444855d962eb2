/** `tsbuild/store`: the content-addressed store of a root (an OCI image layout), its refs, leases and GC. */
export { openStore, Store } from "./store.js";
export type { OpenStoreOptions, PruneOptions, PruneReport, RemoveImageOptions, RemoveImageResult } from "./store.js";
export { resolveRoot } from "./resolve-root.js";
export { Lease, type RefRecord, type RefInput } from "./ref-store.js";
