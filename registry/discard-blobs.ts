import type { Digest } from "../oci/digest.js";
import { BlobGraphWalker } from "../store/blob-graph.js";
import { computeReachability } from "../store/garbage-collector.js";
import type { Store } from "../store/store.js";

/**
 * Deletes blobs a failed pull wrote that nothing else reaches, so a failure leaves the store
 * as it was. Under the store lock, like garbage collection: an image recorded meanwhile by
 * another process that reaches one of them keeps it.
 */
export async function discardBlobs(store: Store, digests: Iterable<Digest>): Promise<void> {
  const wanted = [...new Set(digests)];
  if (wanted.length === 0) return;
  await store.withLock(async () => {
    const reach = await computeReachability({ content: store.content, images: store.images, refs: store.refs, walker: new BlobGraphWalker(store.content) });
    for (const digest of wanted) if (!reach.blobs.has(digest)) await store.content.delete(digest);
  });
}
