import { TsbuildError } from "../errors.js";
import { cancelledError } from "../util/cancelled-error.js";
import type { BuildGraph, Vertex } from "../frontend/graph.js";
import type { Digest } from "../oci/digest.js";
import type { Descriptor, HistoryEntry, ImageConfig } from "../oci/image-types.js";
import { writeImage } from "../worker/write-image.js";
import type { CacheIndex } from "./cache-index.js";
import { diffLayer } from "./diff-layer.js";
import { exportChainOf } from "./export-chain.js";
import type { LayerRecord, Worker } from "./types.js";

export interface ExportImageOptions {
  worker: Worker;
  cache: CacheIndex;
  /** Cache keys of the solved vertices. */
  keys: ReadonlyMap<string, Digest>;
  /**
   * The snapshot each solved vertex gave this build. A concurrent build may have replaced
   * the cache record of a step meanwhile; diffing this build's own snapshots keeps every
   * layer of the image from one consistent chain.
   */
  snapshots?: ReadonlyMap<string, string>;
  /** Names to tag the image with (`-t`); none leaves it dangling. */
  names?: readonly string[];
  /** `false`: write the manifest but record no image (one platform's image, which an index will name). Default true. */
  record?: boolean;
  /** SOURCE_DATE_EPOCH: created times and layer mtimes are clamped to it. */
  epoch?: number;
  now?: Date;
  signal?: AbortSignal;
  /** Called as each step's layer is ready (the `index`-th of `count`, top down). */
  onLayer?: (layer: string, index: number, count: number) => void;
}

export interface ExportedImage {
  /** The config digest. */
  imageId: Digest;
  manifestDigest: Digest;
  /** Full names, as the store recorded them. */
  names: string[];
  config: ImageConfig;
  layers: Descriptor[];
}

function formatTime(date: Date): string {
  return date.toISOString().replace(/\.\d+Z$/, "Z");
}


/**
 * Writes the image of a solved graph: the base image's layers, then one layer per step of
 * the output's chain (diffed from its snapshot the first time, then taken from the cache
 * record), the config from the graph with rootfs.diff_ids and history dates, a manifest,
 * and a tag per name. A step that changed nothing adds no layer and its history entry is
 * marked empty_layer, as BuildKit does.
 */
export async function exportImage(graph: BuildGraph, options: ExportImageOptions): Promise<ExportedImage> {
  const { worker } = options;
  const { chain, base: vertex } = exportChainOf(graph, graph.output);
  const layers: Descriptor[] = [];
  const diffIds: Digest[] = [];
  if (vertex?.definition.op === "source" && vertex.definition.kind === "image") {
    // The store records whole images: base layers not pulled yet (nothing ran on them) are now.
    const base = await worker.images.describe(vertex.definition.ref, { layers: true, ...(options.signal === undefined ? {} : { signal: options.signal }) });
    layers.push(...base.layers);
    diffIds.push(...base.config.rootfs.diff_ids);
  } else if (vertex !== undefined && !(vertex.definition.op === "source" && vertex.definition.kind === "scratch")) {
    throw new TsbuildError("USAGE", `Cannot export "${vertex.name}" as an image: it is not a file system`);
  }

  // Top down: a step the solver never looked at (below a cached one) is its child's parent.
  const stepLayers = new Array<LayerRecord & { created: string }>(chain.length);
  let below = options.snapshots?.get(graph.output);
  for (let i = chain.length - 1; i >= 0; i--) {
    if (options.signal?.aborted) throw cancelledError("Exporting the image was cancelled", options.signal);
    const step = chain[i];
    const snapshot = options.snapshots?.get(step.id) ?? below;
    stepLayers[i] = await layerOf(step, snapshot, options);
    options.onLayer?.(stepLayers[i].descriptor.digest, chain.length - 1 - i, chain.length);
    // An empty COPY --link shares its parent's snapshot instead of having its own.
    const sharesParent = step.definition.op === "file" && step.definition.link && stepLayers[i].empty;
    below = snapshot === undefined || sharesParent ? snapshot : (await worker.snapshotter.stat(snapshot)).parent;
  }
  for (const layer of stepLayers) {
    if (layer.empty) continue;
    layers.push(layer.descriptor);
    diffIds.push(layer.diffId);
  }

  const history: HistoryEntry[] = (graph.image.history ?? []).map((entry) => ({ ...entry }));
  // The last history entries that add a layer belong to the chain's steps, in order. They
  // are dated when their step ran (kept in the cache record), so a cached rebuild writes
  // the same config, and the same image id, as BuildKit does.
  const withLayer = history.map((entry, i) => (entry.empty_layer ? -1 : i)).filter((i) => i >= 0);
  const paired = withLayer.slice(Math.max(0, withLayer.length - stepLayers.length));
  const offset = stepLayers.length - paired.length;
  const stepTimes = new Map<number, string>();
  paired.forEach((historyIndex, i) => {
    const layer = stepLayers[offset + i];
    if (layer.empty) history[historyIndex].empty_layer = true;
    stepTimes.set(historyIndex, layer.created);
  });
  const fallback = options.epoch !== undefined ? formatTime(new Date(options.epoch * 1000)) : undefined;
  // Entries without a layer take the date of the step before them (or after, at the start).
  let previous = stepTimes.get(Math.min(...stepTimes.keys()));
  history.forEach((entry, i) => {
    previous = stepTimes.get(i) ?? previous;
    entry.created ??= fallback ?? previous ?? formatTime(options.now ?? new Date());
  });
  const createdText = fallback ?? history.reduce<string | undefined>((latest, entry) => (latest === undefined || (entry.created ?? "") > latest ? entry.created : latest), undefined) ?? formatTime(options.now ?? new Date());

  const config: ImageConfig = {
    ...graph.image,
    created: createdText,
    rootfs: { type: "layers", diff_ids: diffIds },
    history,
  };
  const names = [...(options.names ?? [])];
  const written = await writeImage(worker.store, { config, layers, ...(names.length > 0 ? { name: names[0] } : {}), ...(options.record === false ? { record: false } : {}) });
  const tagged = written.name === undefined ? [] : [written.name];
  for (const name of names.slice(1)) tagged.push((await worker.store.images.tag(name, written.manifestDigest)).name ?? name);
  return { imageId: written.id, manifestDigest: written.manifestDigest, names: tagged, config, layers };
}

/** A step's layer: from its cache record when that record is about `snapshot`, else diffed from `snapshot`. */
async function layerOf(step: Vertex, snapshot: string | undefined, options: ExportImageOptions): Promise<LayerRecord & { created: string }> {
  const { worker, cache } = options;
  const key = options.keys.get(step.id);
  const entry = key === undefined ? undefined : await cache.lookup(key);
  const source = snapshot ?? entry?.snapshot;
  if (source === undefined) throw new TsbuildError("INTERNAL", `Step ${step.name} has no snapshot to export`);
  const recorded = entry !== undefined && entry.snapshot === source ? entry : undefined;
  if (recorded?.layer !== undefined && recorded.layer.epoch === options.epoch) return { ...recorded.layer, created: recorded.created };
  const layer = await diffLayer(worker, source, {
    ...(options.epoch === undefined ? {} : { epoch: options.epoch }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  if (recorded !== undefined) await cache.put({ ...recorded, layer }, { name: step.name });
  return { ...layer, created: recorded?.created ?? formatTime(options.now ?? new Date()) };
}
