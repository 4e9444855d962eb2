import { isTsbuildError, TsbuildError } from "../errors.js";
import type { Digest } from "../oci/digest.js";
import { collectSnapshots } from "./snapshot-collector.js";
import type { Worker } from "./worker.js";

export interface RemoveImagesOptions {
  /** docker's `rmi -f`: remove images with several names or used by containers. */
  force?: boolean;
}

/** What happened to one argument of `rmi`. */
export type RemovedImage =
  | { reference: string; untagged: string[]; deleted: Digest[]; removedSnapshots: string[] }
  | { reference: string; error: TsbuildError };

export interface RemoveImagesResult {
  results: RemovedImage[];
  /** True when every reference was removed. */
  ok: boolean;
}

/**
 * docker's `rmi`, one reference after another (a failure does not stop the rest): untags,
 * deletes images that lost their last name, collects their blobs at once (grace 0: the
 * user asked; builds hold leases, which still protect what they wrote) and removes the
 * unpacked layers no other image or record holds.
 */
export async function removeImages(worker: Worker, references: readonly string[], options: RemoveImagesOptions = {}): Promise<RemoveImagesResult> {
  const results: RemovedImage[] = [];
  for (const reference of references) {
    try {
      const { result, collection } = await collectSnapshots(worker, {
        operation: (seam) => worker.store.removeImage(reference, { ...seam, force: options.force === true, graceMs: 0 }),
        reportOf: (removal) => removal.gc,
      });
      results.push({
        reference,
        untagged: result.untagged,
        deleted: result.deleted.map((image) => image.id),
        removedSnapshots: collection.removedSnapshots,
      });
    } catch (error) {
      if (!isTsbuildError(error)) throw error;
      results.push({ reference, error });
    }
  }
  return { results, ok: results.every((result) => !("error" in result)) };
}
