import { randomBytes } from "node:crypto";
import { isTsbuildError } from "../../errors.js";
import type { ResourceLimits, SecretSource, SshSource } from "../../executor/types.js";
import { digestOf, type Digest } from "../../oci/digest.js";
import type { Lease } from "../../store/ref-store.js";
import type { CacheIndex } from "../cache-index.js";
import type { DigestCache } from "../copy-sources.js";
import type { SharedViews } from "../shared-views.js";
import type { StageReads } from "./context-files.js";
import type { Worker } from "../types.js";

/** What the operations of one build share: the worker, the build's lease, and how RUNs run. */
export interface StepEnvironment {
  worker: Worker;
  /** Holds what the build commits until cache records (and the image) hold it. */
  lease: Lease;
  /** The cache index (COPY --link keeps its own layer there, under a key without the base). */
  cache: CacheIndex;
  /** Local context directories by name; `context` is the main build context. */
  contexts: Record<string, string>;
  secrets?: Record<string, SecretSource>;
  ssh?: Record<string, SshSource>;
  allowInsecure?: boolean;
  limits?: ResourceLimits;
  /** Context file digests remembered from earlier builds. */
  digests?: DigestCache;
  /** SOURCE_DATE_EPOCH: layers made during the build are clamped to it. */
  epoch: number | undefined;
  /** A new directory for downloads and clones, removed when the build ends. */
  scratchDir(prefix: string): Promise<string>;
  /** Read-only views of other stages' snapshots, mounted once for the whole build. */
  views: SharedViews;
  /** What content keys read of other stages, read once for the whole build. */
  stageReads: StageReads;
}

/** The cache key itself, unless a snapshot of that name exists (a --no-cache rerun, a concurrent build). */
export async function snapshotNameFor(worker: Worker, key: Digest): Promise<string> {
  const exists = await worker.snapshotter.stat(key).then(
    () => true,
    (error: unknown) => {
      if (isTsbuildError(error, "NOT_FOUND")) return false;
      throw error;
    },
  );
  return exists ? uniqueNameFor(key) : key;
}

/** A snapshot name derived from `key` that no other build will choose. */
export function uniqueNameFor(key: Digest): Digest {
  return digestOf(`${key}\n${randomBytes(16).toString("hex")}`);
}

/** RFC 3339 in UTC with whole seconds, as Go writes image times. */
export function formatTime(date: Date): string {
  return date.toISOString().replace(/\.\d+Z$/, "Z");
}
