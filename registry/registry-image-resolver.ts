import type { ImageConfigResolver } from "../frontend/graph.js";
import { formatReference, parseReference, withDefaultTag } from "../oci/reference.js";
import type { Worker } from "../worker/worker.js";
import { ensureImage, type EnsureImageOptions } from "./ensure-image.js";

/**
 * The frontend's `ImageConfigResolver` over a root and its registries: a `FROM` image the
 * store lacks is pulled (with `pull: "always"`, checked again), and the reference comes back
 * pinned by digest, so a retagged base changes every cache key above it.
 *
 * @example
 * const resolver = createRegistryImageResolver(worker, { pull: "missing" });
 * const { ref, config } = await resolver.resolveImageConfig("alpine:3.19", { platform: hostPlatform() });
 */
export function createRegistryImageResolver(worker: Worker, options: Omit<EnsureImageOptions, "platform"> = {}): ImageConfigResolver {
  return {
    async resolveImageConfig(ref, { platform }) {
      const image = await ensureImage(worker, ref, { ...options, platform });
      const reference = parseReference(ref);
      const pinned = reference.digest === undefined ? `${formatReference(withDefaultTag(reference))}@${image.summary.digest}` : formatReference(reference);
      return { ref: pinned, config: image.config };
    },
  };
}
