import type { BuildGraph } from "../frontend/graph.js";
import type { Digest } from "../oci/digest.js";
import type { CacheIndex } from "../solver/cache-index.js";
import type { ExportedImage } from "../solver/export-image.js";
import type { BuildPhase, OperationProgress, Worker } from "../solver/types.js";

/**
 * The exporter seam, after BuildKit's exporter package: what a solved build is turned into.
 * Each output (the image store, a directory, a docker or OCI archive, a registry push, the
 * shared build cache) is one `Exporter`; the build runs the image store's first, then the
 * others over what it wrote. Exporters that write the image store keep layers as the store
 * keeps them; those that send the image elsewhere (archive, registry, cache) get the
 * compressed blobs through the store's own functions.
 */

/** A solved build, as every exporter reads it. */
export interface SolvedBuild {
  graph: BuildGraph;
  worker: Worker;
  cache: CacheIndex;
  /** The cache key of every vertex solved. */
  keys: ReadonlyMap<string, Digest>;
  /** The committed snapshot each solved vertex gave this build. */
  snapshots: ReadonlyMap<string, string>;
  /** SOURCE_DATE_EPOCH, when given. */
  epoch: number | undefined;
  /**
   * A build for several platforms: each platform's graph (`graph` is then all of them
   * merged). The image store exporter writes an image per platform and an index over them,
   * the local exporter a directory per platform, the cache exporter every platform's steps.
   */
  platforms?: ReadonlyArray<{ platform: string; graph: BuildGraph }>;
  /** Settles when the layers the build diffed as its steps finished are stored (the image store exporter waits for it). */
  layers?: Promise<void>;
  /** Watches the tar bytes of those layers as they are made; returns the function that stops watching. */
  watchLayers?: (watcher: (bytes: number) => void) => () => void;
}

export interface ExportContext {
  signal: AbortSignal;
  /** Progress of the export's parts (layers diffed, blobs sent). */
  progress(update: OperationProgress): void;
}

export interface Exporter<T> {
  readonly phase: BuildPhase;
  /** What it does, for progress: `exporting to image`, `pushing localhost:5000/app:1`. */
  readonly name: string;
  /**
   * Writes the solved build out. `image` is what the image store exporter wrote, for
   * exporters that send the image on (undefined when it is the image store exporter).
   */
  export(build: SolvedBuild, context: ExportContext & { image: ExportedImage | undefined }): Promise<T>;
}
