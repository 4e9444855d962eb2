import { isTsbuildError, TsbuildError } from "../errors.js";
import type { Digest } from "../oci/digest.js";
import { parseImageConfig } from "../oci/image-types.js";
import { formatReference, parseReference, withDefaultTag } from "../oci/reference.js";
import type { TransferProgress } from "../registry/transfer-progress.js";
import type { ImageSource, OperationProgress } from "../solver/types.js";
import { resolveImage, type ResolvedImage } from "../worker/resolve-image.js";
import { unpackImage } from "../worker/unpack-image.js";
import type { Worker as RootWorker } from "../worker/worker.js";

/**
 * A build's base images over a root and its registries. Resolving a `FROM` image the store
 * lacks fetches its manifest and config only, and pins the reference by digest (so a
 * retagged base changes every key above it); its layers are pulled when something needs
 * them: a step that runs on the image (unpack) or an export that writes an image over it.
 * A build served from the cache, or a dry run, downloads no base layer that way.
 */
export function buildImageSource(root: RootWorker, pull: "missing" | "always" | "never"): ImageSource {
  const progressOf = (onProgress: ((progress: OperationProgress) => void) | undefined) =>
    onProgress === undefined
      ? {}
      : { onProgress: (event: TransferProgress) => onProgress({ id: event.digest, action: "pull", current: event.current, total: event.total, unit: "bytes" as const, ...(event.status === "done" || event.status === "exists" ? { done: true } : {}) }) };

  // Images this build resolved by their config only (by platform manifest digest), with the
  // name to record, and what it points at (an index, or the manifest), once their layers are in.
  const pending = new Map<string, { name: string | undefined; top: Digest }>();

  // A reference pinned by digest names the same manifest and config all build long (and the
  // build's lease keeps their blobs): it is resolved once, not by every stage and the export.
  const resolved = new Map<string, Promise<ResolvedImage>>();
  function resolveHeld(ref: string): Promise<ResolvedImage> {
    if (parseReference(ref).digest === undefined) return resolveImage(root.store, ref, { fromContent: true });
    let image = resolved.get(ref);
    if (image === undefined) {
      image = resolveImage(root.store, ref, { fromContent: true });
      resolved.set(ref, image);
      image.catch(() => resolved.delete(ref)); // a failure is the caller's, and the next one tries again
    }
    return image;
  }

  /** The image's layer blobs, pulled when the store lacks any; then its name is recorded, as a pull records it. */
  async function ensureLayers(ref: string, options: { signal?: AbortSignal; onProgress?: (progress: OperationProgress) => void }): Promise<ResolvedImage> {
    const image = await resolveHeld(ref);
    let complete = true;
    for (const layer of image.manifest.layers) complete &&= await root.store.content.has(layer.digest);
    const reference = parseReference(ref);
    const digest = reference.digest ?? image.summary.digest;
    const entry = pending.get(digest);
    if (!complete) {
      const { pullImage } = await import("../registry/pull-image.js");
      await pullImage(root, `${reference.domain}/${reference.path}@${digest}`, { record: false, ...(options.signal === undefined ? {} : { signal: options.signal }), ...progressOf(options.onProgress) });
    }
    if (entry !== undefined && pending.delete(digest)) {
      // Recorded as the pull would have recorded it: under its name, or by digest.
      if (entry.name !== undefined) await root.store.images.tag(entry.name, entry.top);
      else await root.store.images.keep(entry.top);
    }
    return image;
  }

  return {
    async resolveImageConfig(ref, { platform, signal, onProgress }) {
      const reference = parseReference(ref);
      const pin = (digest: string) => (reference.digest === undefined ? `${formatReference(withDefaultTag(reference))}@${digest}` : formatReference(reference));
      if (pull !== "always") {
        try {
          const image = await resolveImage(root.store, ref, { platform });
          // Pinned by the platform's own manifest: keys, unpacking and exports then need no platform to find it.
          return { ref: pin(image.manifestDigest), config: image.config };
        } catch (error) {
          if (!isTsbuildError(error, "NOT_FOUND")) throw error;
          if (pull === "never") {
            throw new TsbuildError("NOT_FOUND", `Cannot use base image "${ref}": it is not in the store`, {
              cause: error,
              hint: `Put it there first: tsbuild pull ${ref}, tsbuild load -i IMAGE.tar (from docker save), or tsbuild import ROOTFS.tar NAME`,
            });
          }
        }
      }
      const { pullImage } = await import("../registry/pull-image.js");
      const pulled = await pullImage(root, ref, { platform, layers: false, ...(signal === undefined ? {} : { signal }), ...progressOf(onProgress) });
      pending.set(pulled.manifestDigest, { name: reference.digest === undefined ? formatReference(withDefaultTag(reference)) : undefined, top: pulled.digest });
      const config = parseImageConfig(await root.store.content.read(pulled.id), `image config "${pulled.id}"`);
      return { ref: pin(pulled.manifestDigest), config };
    },
    async unpack(ref, { signal, lease, onProgress }) {
      const image = await ensureLayers(ref, { ...(signal === undefined ? {} : { signal }), ...(onProgress === undefined ? {} : { onProgress }) });
      // By digest, and from the content a lease holds when an rmi untagged it meanwhile.
      const unpacked = await unpackImage(root, ref, {
        image,
        ...(signal === undefined ? {} : { signal }),
        ...(lease === undefined ? {} : { lease }),
        ...(onProgress === undefined ? {} : { onLayer: (diffId, index, count) => onProgress({ id: diffId, action: "unpack", current: index + 1, total: count, unit: "items", ...(index + 1 === count ? { done: true } : {}) }) }),
      });
      return { top: unpacked.top, layers: unpacked.image.manifest.layers, config: unpacked.image.config };
    },
    async save(references, saveOptions) {
      const { saveImages } = await import("../worker/save-images.js");
      await saveImages(root, references, saveOptions);
    },
    async describe(ref, options = {}) {
      const image = options.layers === true ? await ensureLayers(ref, options) : await resolveHeld(ref);
      return { layers: image.manifest.layers, config: image.config };
    },
  };
}
