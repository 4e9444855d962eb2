import type { Digest } from "../oci/digest.js";

/** One exported step of the cache config (docs/build-cache.md). */
export interface CacheRecord {
  /** The step's cache key, as `computeCacheKey` gives it on any machine. */
  key: Digest;
  /** The key of the step it builds on; undefined for the first step over a base image or scratch. */
  parent?: Digest;
  /** For the first step over an image: the image's reference and its layers' chain (diff IDs). */
  base?: { ref: string; chain: Digest[] };
  layer: { digest: Digest; size: number; mediaType: string; diffID: Digest; empty: boolean; epoch?: number };
  /** The step's history fields: when it ran (so a rebuild writes the same image id), and what it was. */
  created: string;
  created_by: string;
  empty_layer: boolean;
  /**
   * What the step's key was made of (a `StepComponents` JSON blob, media type
   * `CACHE_STEP_MEDIA_TYPE`, in the same location), and the step's place in its Dockerfile
   * (`Dockerfile\0stage\0position`), so a miss on another machine can still say what changed.
   */
  history?: { slot: string; components: Digest };
}

/** The cache config blob: what every exported step is made of. */
export interface CacheConfig {
  schemaVersion: 1;
  records: CacheRecord[];
}
