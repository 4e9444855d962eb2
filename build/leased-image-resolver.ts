import type { ImageConfigResolver } from "../frontend/graph.js";
import { parseReference } from "../oci/reference.js";
import type { Lease } from "../store/ref-store.js";
import type { Store } from "../store/store.js";

/**
 * The frontend's image resolver, with each base image held by the build's lease as soon as
 * it is resolved (its manifest, and so its config and layers), so a `prune -a` or `rmi`
 * while the build runs may untag it but not remove it. One removed before the lease took it
 * is resolved again (pulled again, or a clear "not in the store").
 */
export function leasedImageResolver(resolver: ImageConfigResolver, lease: Lease, store: Store): ImageConfigResolver {
  return {
    async resolveImageConfig(ref, options) {
      for (let attempt = 0; ; attempt++) {
        const resolved = await resolver.resolveImageConfig(ref, options);
        const digest = parseReference(resolved.ref).digest;
        if (digest === undefined) return resolved;
        await lease.hold({ blobs: [digest] });
        // A collector works under the store lock, as the lease's write does: the blob is
        // held now, or it was removed before, and then it is not here.
        if (attempt > 0 || (await store.content.has(digest))) return resolved;
      }
    },
  };
}
