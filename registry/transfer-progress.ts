import type { Digest } from "../oci/digest.js";

/**
 * What a pull or push reports about one blob, as it happens. `current` and `total` are bytes.
 * Statuses: a pull's blob is `exists` (already in the store), `downloading`, then `done`; a
 * push's is `exists` (the registry has it), `mounted`, or `uploading` then `pushed`.
 */
export interface TransferProgress {
  digest: Digest;
  /** `layer`, `config`, `manifest` or `index`. */
  kind: "layer" | "config" | "manifest" | "index";
  status: "exists" | "downloading" | "done" | "mounted" | "uploading" | "pushed";
  current: number;
  total: number;
}

/** Receives progress events; must not throw. */
export type ProgressListener = (event: TransferProgress) => void;
