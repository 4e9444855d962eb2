import type { Digest } from "../oci/digest.js";
import type { StoreParts } from "./garbage-collector.js";
import { REF_KINDS, isRefLive } from "./ref-store.js";

/** One line of `system df`. */
export interface UsageLine {
  count: number;
  /** Bytes in use, each blob counted once within the line. */
  size: number;
  /** Bytes that removing the unused ones would free. */
  reclaimable: number;
}

/** A `system df`-style report, as data. */
export interface DiskUsage {
  images: UsageLine & { active: number };
  containers: UsageLine & { running: number };
  cache: UsageLine;
  /** Every blob in the content store. */
  content: { count: number; size: number };
  /** Blobs no root reaches (what `gc` would free once their grace period ends). */
  unreferenced: { count: number; size: number };
}

/** The label a container's ref carries while its process runs (set by the container code). */
export const RUNNING_LABEL = "tsbuild.running";

/**
 * Images: reclaimable is what no container, cache record or lease also holds. Containers:
 * `size` is the bytes their records declare (writable layers); all but running ones are
 * reclaimable. Cache: its records' own bytes plus blobs only cache records hold.
 */
export async function computeDiskUsage(parts: StoreParts): Promise<DiskUsage> {
  const sizes = new Map<Digest, number>();
  let contentSize = 0;
  for await (const blob of parts.content.walk()) {
    sizes.set(blob.digest, blob.size);
    contentSize += blob.size;
  }
  const reachFrom = async (digests: Array<{ digest: Digest; mediaType?: string }>): Promise<Set<Digest>> =>
    new Set((await parts.walker.walk(digests)).reachable.keys());
  const bytes = (set: Iterable<Digest>): number => {
    let sum = 0;
    for (const digest of set) sum += sizes.get(digest) ?? 0;
    return sum;
  };

  const images = await parts.images.list();
  const refs = (await parts.refs.list()).filter(isRefLive);
  const containers = refs.filter((ref) => ref.kind === REF_KINDS.container);
  const cache = refs.filter((ref) => ref.kind === REF_KINDS.cache);
  const others = refs.filter((ref) => ref.kind !== REF_KINDS.cache);

  const imageBlobs = await reachFrom(images.map((image) => ({ digest: image.digest, mediaType: image.mediaType })));
  const nonImageRefBlobs = await reachFrom(refs.flatMap((ref) => ref.blobs.map((digest) => ({ digest }))));
  const cacheBlobs = await reachFrom(cache.flatMap((ref) => ref.blobs.map((digest) => ({ digest }))));
  const otherBlobs = await reachFrom(others.flatMap((ref) => ref.blobs.map((digest) => ({ digest }))));
  const containerImages = new Set(containers.flatMap((ref) => ref.blobs));
  const all = new Set([...imageBlobs, ...nonImageRefBlobs]);

  const running = containers.filter((ref) => ref.labels?.[RUNNING_LABEL] === "true");
  const unreferenced = [...sizes.keys()].filter((digest) => !all.has(digest));
  return {
    images: {
      count: images.length,
      active: images.filter((image) => containerImages.has(image.digest)).length,
      size: bytes(imageBlobs),
      reclaimable: bytes([...imageBlobs].filter((digest) => !nonImageRefBlobs.has(digest))),
    },
    containers: {
      count: containers.length,
      running: running.length,
      size: containers.reduce((sum, ref) => sum + (ref.size ?? 0), 0),
      reclaimable: containers.filter((ref) => !running.includes(ref)).reduce((sum, ref) => sum + (ref.size ?? 0), 0),
    },
    cache: {
      count: cache.length,
      size: cache.reduce((sum, ref) => sum + (ref.size ?? 0), 0) + bytes(cacheBlobs),
      reclaimable:
        cache.reduce((sum, ref) => sum + (ref.size ?? 0), 0) +
        bytes([...cacheBlobs].filter((digest) => !imageBlobs.has(digest) && !otherBlobs.has(digest))),
    },
    content: { count: sizes.size, size: contentSize },
    unreferenced: { count: unreferenced.length, size: bytes(unreferenced) },
  };
}
