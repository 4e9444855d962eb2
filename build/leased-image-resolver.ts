import type { ImageConfigResolver } from "../frontend/graph.js";
import { parseReference } from "../oci/reference.js";
import type { Lease } from "../store/ref-store.js";
import type { Store } from "../store/store.js";
import type { ImageSource, OperationProgress, ProgressListener } from "../solver/types.js";
import { cancelledError } from "../util/cancelled-error.js";

/**
 * The frontend's image resolver, with each base image held by the build's lease as soon as
 * it is resolved (its manifest, and so its config and layers), so a `prune -a` or `rmi`
 * while the build runs may untag it but not remove it. One removed before the lease took it
 * is resolved again (pulled again, or a clear "not in the store").
 */
export function leasedImageResolver(images: ImageSource, lease: Lease, store: Store, options: { signal?: AbortSignal; onProgress?: ProgressListener } = {}): ImageConfigResolver {
  const { signal, onProgress } = options;
  const resolve: ImageConfigResolver["resolveImageConfig"] = async (ref, { platform }) => {
    const name = `pulling ${ref}`;
    // A pull shows as a phase: its start at its first progress, per-blob bytes, its end.
    let pulled = false;
    const report = (update: OperationProgress) => onProgress?.({ type: "phase-progress", phase: "pull", name, progress: update });
    const progress = {
      onProgress: (update: OperationProgress) => {
        if (!pulled) report({ id: name, action: "start", current: 0, unit: "items" });
        pulled = true;
        report(update);
      },
    };
    for (let attempt = 0; ; attempt++) {
      if (signal?.aborted) throw cancelledError(`Resolving "${ref}" was cancelled`, signal);
      const resolved = await images.resolveImageConfig(ref, { platform, ...(signal === undefined ? {} : { signal }), ...progress });
      const digest = parseReference(resolved.ref).digest;
      if (pulled) report({ id: name, action: "done", current: 1, total: 1, unit: "items", done: true });
      if (digest === undefined) return resolved;
      await lease.hold({ blobs: [digest] });
      // A collector works under the store lock, as the lease's write does: the blob is
      // held now, or it was removed before, and then it is not here.
      if (attempt > 0 || (await store.content.has(digest))) return resolved;
    }
  };
  // Each name once a build (per platform): stages FROM the same image share one resolution
  // and one lease write, and so one base, as BuildKit resolves a name once a build.
  const byName = new Map<string, ReturnType<ImageConfigResolver["resolveImageConfig"]>>();
  return {
    resolveImageConfig(ref, resolveOptions) {
      const key = JSON.stringify([ref, resolveOptions.platform]);
      let result = byName.get(key);
      if (result === undefined) {
        result = resolve(ref, resolveOptions);
        byName.set(key, result);
        // A failure is not kept (it fails this build; nothing need ask again, but may).
        result.catch(() => byName.delete(key));
      }
      return result;
    },
  };
}
