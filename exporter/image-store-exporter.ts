import { exportImage, type ExportedImage } from "../solver/export-image.js";
import { exportImageIndex } from "./export-image-index.js";
import type { ExportContext, Exporter, SolvedBuild } from "./exporter.js";

/** The progress id of the image's new layers being diffed (BuildKit's "exporting layers"). */
export const LAYERS_PROGRESS = "exporting layers";

/**
 * The image into the store: layers of the output's chain (diffed once, then kept with the
 * cache records), config, history, manifest, and a tag per name.
 */
export class ImageStoreExporter implements Exporter<ExportedImage> {
  readonly phase = "export" as const;
  readonly name = "exporting to image";
  readonly #names: readonly string[];

  constructor(names: readonly string[]) {
    this.#names = names;
  }

  async export(build: SolvedBuild, context: ExportContext): Promise<ExportedImage> {
    // Layers still being diffed (the last steps') are part of exporting, and shown as such:
    // the bytes of the image's new layers so far, at most ten times a second, then the total.
    let bytes = 0;
    let shown = -Infinity;
    const stop = build.watchLayers?.((now) => {
      bytes = now;
      if (performance.now() - shown < 100) return;
      shown = performance.now();
      context.progress({ id: LAYERS_PROGRESS, action: "diff", current: bytes, unit: "bytes" });
    });
    try {
      await build.layers;
    } finally {
      stop?.();
    }
    if (stop !== undefined) context.progress({ id: LAYERS_PROGRESS, action: "diff", current: bytes, total: bytes, unit: "bytes", done: true });
    if (build.platforms !== undefined && build.platforms.length > 1) return exportImageIndex({ ...build, platforms: build.platforms }, this.#names, context);
    return exportImage(build.graph, {
      worker: build.worker,
      cache: build.cache,
      keys: build.keys,
      snapshots: build.snapshots,
      names: this.#names,
      ...(build.epoch === undefined ? {} : { epoch: build.epoch }),
      signal: context.signal,
      onLayer: (layer, index, count) => context.progress({ id: layer, action: "write", current: index + 1, total: count, unit: "items", ...(index + 1 === count ? { done: true } : {}) }),
    });
  }
}
