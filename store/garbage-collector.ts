import { crashPoint } from "../util/crash-point.js";
import type { Digest } from "../oci/digest.js";
import type { BlobGraphWalker, GraphRoot } from "./blob-graph.js";
import type { ContentStore } from "./content-store.js";
import type { ImageStore } from "./image-store.js";
import { REF_KINDS, isRefLive, type RefRecord, type RefStore } from "./ref-store.js";

/**
 * The seam to the snapshotter, which owns snapshot directories. The store only knows which
 * snapshot keys its roots still hold: the chain ids of every image's layer stack plus the
 * keys that ref records list. Both callbacks are called with the store lock held, so the
 * snapshotter must not call back into store mutations from them (lock order: store, then
 * snapshotter).
 */
export interface SnapshotSeam {
  /** Every snapshot key the snapshotter has; those no root holds are reported (and removed). */
  listSnapshotKeys?: () => Promise<string[]>;
  /** Removes one snapshot; without it unreferenced keys are only reported. */
  removeSnapshot?: (key: string) => Promise<void>;
}

export interface GcOptions extends SnapshotSeam {
  /**
   * Blobs written (or reused) less than this long ago are kept even when unreferenced, for
   * writers that have not taken a lease. Default 60 s; 0 deletes at once.
   */
  graceMs?: number;
  /** Snapshot keys to judge besides `listSnapshotKeys()` (e.g. the chain ids of removed images). */
  candidateSnapshotKeys?: Iterable<string>;
}

export interface GcReport {
  removedBlobs: Array<{ digest: Digest; size: number }>;
  reclaimedBytes: number;
  /** Snapshot keys no root holds any more (among those listed or given as candidates). */
  unreferencedSnapshots: string[];
  /** The ones `removeSnapshot` removed. */
  removedSnapshots: string[];
  /** Snapshots `removeSnapshot` failed on; the next gc tries again. */
  snapshotErrors: Array<{ key: string; message: string }>;
  /** Leases of dead processes that were dropped. */
  removedLeases: string[];
  /** Records held while a blob nothing holds any more (`RefRecord.heldWhile`), dropped. */
  removedDerived: string[];
}

/** The parts garbage collection, fsck and disk usage work over. */
export interface StoreParts {
  content: ContentStore;
  images: ImageStore;
  refs: RefStore;
  walker: BlobGraphWalker;
}

/** What every root holds: blobs (transitively) and snapshot keys. Dead leases are dropped. */
export interface Reachability {
  blobs: Set<Digest>;
  snapshots: Set<string>;
  liveRefs: RefRecord[];
  deadLeases: RefRecord[];
  /** Records held while a blob that nothing else holds (see `RefRecord.heldWhile`). */
  lapsed: RefRecord[];
}

/** Computes what the images and live ref records hold. */
export async function computeReachability(parts: StoreParts): Promise<Reachability> {
  const roots: GraphRoot[] = (await parts.images.records()).map((record) => ({ digest: record.digest, mediaType: record.mediaType }));
  const liveRefs: RefRecord[] = [];
  const deadLeases: RefRecord[] = [];
  const conditional: RefRecord[] = [];
  const snapshots = new Set<string>();
  for (const ref of await parts.refs.list()) {
    if (!isRefLive(ref)) {
      if (ref.kind === REF_KINDS.lease) deadLeases.push(ref);
      continue;
    }
    if (ref.heldWhile !== undefined) {
      conditional.push(ref);
      continue;
    }
    liveRefs.push(ref);
    for (const digest of ref.blobs) roots.push({ digest });
    for (const key of ref.snapshots) snapshots.add(key);
  }
  const graph = await parts.walker.walk(roots);
  const blobs = new Set(graph.reachable.keys());
  // Derived blobs (leaves, such as compressed copies of layers) live while their source does.
  const lapsed: RefRecord[] = [];
  for (const ref of conditional) {
    if (!blobs.has(ref.heldWhile!)) {
      lapsed.push(ref);
      continue;
    }
    liveRefs.push(ref);
    for (const digest of ref.blobs) if (await parts.content.has(digest)) blobs.add(digest);
    for (const key of ref.snapshots) snapshots.add(key);
  }
  for (const chainId of graph.chainIds) snapshots.add(chainId);
  return { blobs, snapshots, liveRefs, deadLeases, lapsed };
}

/**
 * A lease starts at `Date.now()`, but the kernel stamps file times from a coarse clock that can
 * run up to a scheduler tick behind it, so a blob written just after the lease began may carry
 * an earlier mtime. A lease therefore spares blobs from a little before its start.
 */
const FS_CLOCK_LAG_MS = 1000;

/**
 * Mark and sweep; the caller holds the store lock. Roots: every index.json entry (named or
 * dangling) and every live ref record. A blob is deleted when no root reaches it and it is
 * older than both the grace period and the oldest live lease (less the file clock's lag).
 */
export async function collectGarbage(parts: StoreParts, options: GcOptions = {}): Promise<GcReport> {
  const started = Date.now();
  const reach = await computeReachability(parts);
  const report: GcReport = {
    removedBlobs: [],
    reclaimedBytes: 0,
    unreferencedSnapshots: [],
    removedSnapshots: [],
    snapshotErrors: [],
    removedLeases: [],
    removedDerived: [],
  };
  for (const lease of reach.deadLeases) {
    if (await parts.refs.remove(lease.kind, lease.id)) report.removedLeases.push(lease.id);
  }
  for (const ref of reach.lapsed) {
    if (await parts.refs.remove(ref.kind, ref.id)) report.removedDerived.push(`${ref.kind}/${ref.id}`);
  }
  let keepNewerThan = started - (options.graceMs ?? 60_000);
  for (const ref of reach.liveRefs) {
    if (ref.kind === REF_KINDS.lease) keepNewerThan = Math.min(keepNewerThan, Date.parse(ref.createdAt) - FS_CLOCK_LAG_MS);
  }
  for await (const blob of parts.content.walk()) {
    if (reach.blobs.has(blob.digest) || blob.modifiedAt.getTime() >= keepNewerThan) continue;
    if (await parts.content.delete(blob.digest)) {
      report.removedBlobs.push({ digest: blob.digest, size: blob.size });
      report.reclaimedBytes += blob.size;
      crashPoint("gc.blob-removed");
    }
  }

  const candidates = new Set<string>(options.candidateSnapshotKeys ?? []);
  if (options.listSnapshotKeys !== undefined) for (const key of await options.listSnapshotKeys()) candidates.add(key);
  report.unreferencedSnapshots = [...candidates].filter((key) => !reach.snapshots.has(key)).sort();
  if (options.removeSnapshot !== undefined) {
    for (const key of report.unreferencedSnapshots) {
      try {
        await options.removeSnapshot(key);
        report.removedSnapshots.push(key);
        crashPoint("gc.snapshot-removed");
      } catch (error) {
        report.snapshotErrors.push({ key, message: error instanceof Error ? error.message : String(error) });
      }
    }
  }
  return report;
}
