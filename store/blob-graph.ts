import type { Digest } from "../oci/digest.js";
import {
  computeChainIds,
  parseImageConfig,
  parseManifestLike,
  referencedDescriptors,
  type ManifestLike,
} from "../oci/image-types.js";
import { isConfigMediaType, isIndexMediaType, isLayerMediaType, isManifestMediaType } from "../oci/media-types.js";
import type { ContentStore } from "./content-store.js";

/** What a set of roots reaches in the content store. */
export interface BlobGraph {
  /** Every reachable blob that exists, with its size. */
  reachable: Map<Digest, number>;
  /** Blobs that something points at but that are not in the store. */
  missing: Set<Digest>;
  /** Chain ids of every reachable image's layer stack (its snapshots' keys). */
  chainIds: Set<string>;
}

/** A root of the walk; mediaType is known for descriptors and unknown for raw digests. */
export interface GraphRoot {
  digest: Digest;
  mediaType?: string;
}

// Manifests and indexes are small; anything bigger is a layer or other opaque content.
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

/**
 * Walks manifests to their configs and layers and indexes to their manifests. Parsed
 * documents are cached by digest: content under a digest never changes.
 */
export class BlobGraphWalker {
  readonly #content: ContentStore;
  readonly #parsed = new Map<Digest, ManifestLike | null>();
  readonly #chainIds = new Map<Digest, string[]>();

  constructor(content: ContentStore) {
    this.#content = content;
  }

  async walk(roots: Iterable<GraphRoot>): Promise<BlobGraph> {
    const graph: BlobGraph = { reachable: new Map(), missing: new Set(), chainIds: new Set() };
    const queue: GraphRoot[] = [...roots];
    const seen = new Set<Digest>();
    while (queue.length > 0) {
      const node = queue.pop()!;
      if (seen.has(node.digest)) continue;
      seen.add(node.digest);
      const info = await this.#content.stat(node.digest);
      if (info === undefined) {
        graph.missing.add(node.digest);
        continue;
      }
      graph.reachable.set(node.digest, info.size);
      if (!mayBeManifest(node.mediaType) || info.size > MAX_MANIFEST_BYTES) continue;
      const parsed = await this.parse(node.digest);
      if (parsed === null) continue;
      for (const child of referencedDescriptors(parsed)) queue.push({ digest: child.digest, mediaType: child.mediaType });
      if (parsed.kind === "manifest") {
        for (const chainId of await this.#manifestChainIds(parsed.manifest.config.digest)) graph.chainIds.add(chainId);
      }
    }
    return graph;
  }

  /** The parsed manifest or index under `digest`, or null when it is something else. */
  async parse(digest: Digest): Promise<ManifestLike | null> {
    // Content never changes under a digest, but it may be deleted: check before using the cache.
    if (!(await this.#content.has(digest))) return null;
    const cached = this.#parsed.get(digest);
    if (cached !== undefined) return cached;
    let parsed: ManifestLike | null = null;
    try {
      const data = await this.#content.read(digest);
      if (data[0] === 0x7b /* "{" */) parsed = parseManifestLike(data);
    } catch {
      parsed = null;
    }
    this.#parsed.set(digest, parsed);
    return parsed;
  }

  /** The chain ids of the image whose config is `configDigest` ([] when unreadable). */
  async #manifestChainIds(configDigest: Digest): Promise<string[]> {
    const cached = this.#chainIds.get(configDigest);
    if (cached !== undefined) return cached;
    let chainIds: string[] = [];
    try {
      chainIds = computeChainIds(parseImageConfig(await this.#content.read(configDigest)).rootfs.diff_ids);
    } catch {
      chainIds = [];
    }
    this.#chainIds.set(configDigest, chainIds);
    return chainIds;
  }
}

function mayBeManifest(mediaType: string | undefined): boolean {
  if (mediaType === undefined) return true;
  if (isIndexMediaType(mediaType) || isManifestMediaType(mediaType)) return true;
  return !isLayerMediaType(mediaType) && !isConfigMediaType(mediaType);
}
