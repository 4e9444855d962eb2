import { isTsbuildError, TsbuildError } from "../errors.js";
import { cancelledError } from "../util/cancelled-error.js";
import type { BuildGraph, Vertex } from "../frontend/graph.js";
import type { Digest } from "../oci/digest.js";
import type { Descriptor } from "../oci/image-types.js";
import { OCI_MEDIA_TYPES } from "../oci/media-types.js";
import type { RegistryAccessOptions } from "../registry/open-registry-client.js";
import { RegistryError } from "../registry/registry-error.js";
import { distributableLayer } from "../worker/distributable-layer.js";
import type { CacheIndex } from "./cache-index.js";
import type { CacheConfig, CacheRecord } from "./cache-config.js";
import { CACHE_CONFIG_MEDIA_TYPE, CACHE_STEP_MEDIA_TYPE, openCacheLocation, type CacheLocationSpec } from "./cache-location.js";
import type { StepComponents } from "./explain-miss.js";
import { diffLayer } from "./diff-layer.js";
import { rootInputOf } from "./root-input.js";
import type { Worker } from "./types.js";

export interface ExportCacheOptions {
  worker: Worker;
  cache: CacheIndex;
  /** Cache keys of the solved vertices. */
  keys: ReadonlyMap<string, Digest>;
  /** SOURCE_DATE_EPOCH: layers diffed for the export are clamped to it, as the image's are. */
  epoch?: number;
  registry?: RegistryAccessOptions;
  signal?: AbortSignal;
  /** What a step's key was made of when it last ran, and its portable slot: exported so a miss elsewhere can be explained. */
  stepHistory?: (step: Vertex) => Promise<{ slot: string; components: StepComponents } | undefined>;
  /** mode=min: the outputs whose chains are exported (each platform's of a multi-platform build). Default the graph's output. */
  outputs?: readonly string[];
  /** Called as each blob is at the location (sent, or there already), with the bytes of the blobs so far and of all. */
  onBlob?: (digest: Digest, sent: { bytes: number; total: number }) => void;
}

export interface ExportedCache {
  /** Every step exported, by key. */
  keys: Digest[];
  /** Blobs written; those the location had already are skipped. */
  uploaded: Digest[];
}

/**
 * `--cache-to`: writes the build cache of a solved graph as an OCI index of layer blobs plus
 * a cache config (docs/build-cache.md). mode=min (the default) exports the final image's
 * chain; mode=max every step this root holds a record of, intermediate stages included.
 * Blobs the location already has are not sent again; the index is written last.
 *
 * @example
 * await exportCache(graph, { type: "registry", ref: "localhost:5000/app:cache", mode: "max" }, { worker, cache, keys });
 */
export async function exportCache(graph: BuildGraph, spec: CacheLocationSpec, options: ExportCacheOptions): Promise<ExportedCache> {
  const { worker, cache } = options;
  const vertices = new Map(graph.vertices.map((vertex) => [vertex.id, vertex]));
  const steps: Vertex[] = [];
  if (spec.mode === "max") {
    steps.push(...graph.vertices.filter((vertex) => isStep(vertex) && options.keys.has(vertex.id)));
  } else {
    for (const output of options.outputs ?? [graph.output]) {
      const chain: Vertex[] = [];
      for (let vertex = vertices.get(output); vertex !== undefined && isStep(vertex); vertex = vertices.get(vertex.inputs[rootInputOf(vertex.definition as never)])) {
        chain.unshift(vertex);
      }
      steps.push(...chain);
    }
  }
  const records = new Map<Digest, CacheRecord>();
  const stepBlobs = new Map<Digest, Descriptor>();
  for (const step of steps) {
    const key = options.keys.get(step.id);
    if (key === undefined || records.has(key)) continue;
    const entry = await cache.lookup(key);
    // A step this build never looked at (below a cached one in another stage) is not here to export.
    if (entry === undefined) continue;
    let layer = entry.layer;
    if (layer === undefined || layer.epoch !== options.epoch) {
      layer = await diffLayer(worker, entry.snapshot, {
        ...(options.epoch === undefined ? {} : { epoch: options.epoch }),
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      });
      await cache.put({ ...entry, layer }, { name: step.name });
    }
    const parentVertex = vertices.get(step.inputs[rootInputOf(step.definition as never)]);
    const parent = parentVertex !== undefined && isStep(parentVertex) ? options.keys.get(parentVertex.id) : undefined;
    let base: CacheRecord["base"];
    if (parentVertex?.definition.op === "source" && parentVertex.definition.kind === "image") {
      const described = await worker.images.describe(parentVertex.definition.ref);
      base = { ref: parentVertex.definition.ref, chain: described.config.rootfs.diff_ids };
    }
    const history = await options.stepHistory?.(step).catch(() => undefined); // only the explanation is lost
    let historyBlob: Descriptor | undefined;
    if (history !== undefined) {
      const written = await worker.store.content.write(Buffer.from(JSON.stringify(history.components)));
      historyBlob = { mediaType: CACHE_STEP_MEDIA_TYPE, digest: written.digest, size: written.size };
      stepBlobs.set(written.digest, historyBlob);
    }
    // The cache leaves the machine: layers kept uncompressed go compressed (made once, remembered).
    const sent = await distributableLayer(worker.store, layer.descriptor);
    records.set(key, {
      key,
      ...(history === undefined || historyBlob === undefined ? {} : { history: { slot: history.slot, components: historyBlob.digest } }),
      ...(parent === undefined ? {} : { parent }),
      ...(base === undefined ? {} : { base }),
      layer: {
        digest: sent.digest,
        size: sent.size,
        mediaType: sent.mediaType,
        diffID: layer.diffId,
        empty: layer.empty,
        ...(layer.epoch === undefined ? {} : { epoch: layer.epoch }),
      },
      created: entry.created,
      created_by: step.name,
      empty_layer: layer.empty,
    });
  }

  const location = await openCacheLocation(spec, { ...(options.registry ?? {}), ...(options.signal === undefined ? {} : { signal: options.signal }) });
  const config: CacheConfig = { schemaVersion: 1, records: [...records.values()] };
  const configBytes = Buffer.from(JSON.stringify(config));
  const configInfo = await worker.store.content.write(configBytes);
  const configDescriptor: Descriptor = { mediaType: CACHE_CONFIG_MEDIA_TYPE, digest: configInfo.digest, size: configInfo.size };
  const layers = new Map<Digest, Descriptor>();
  for (const record of records.values()) layers.set(record.layer.digest, { mediaType: record.layer.mediaType, digest: record.layer.digest, size: record.layer.size });
  const uploaded: Digest[] = [];
  try {
    const blobs = [...layers.values(), ...stepBlobs.values(), configDescriptor];
    const total = blobs.reduce((sum, blob) => sum + blob.size, 0);
    let done = 0;
    for (const descriptor of blobs) {
      if (options.signal?.aborted) throw cancelledError("Exporting the build cache was cancelled", options.signal);
      if (await location.putBlob(descriptor, worker.store.content)) uploaded.push(descriptor.digest);
      done += descriptor.size;
      options.onBlob?.(descriptor.digest, { bytes: done, total });
    }
    const index = { schemaVersion: 2, mediaType: OCI_MEDIA_TYPES.index, manifests: [...layers.values(), ...stepBlobs.values(), configDescriptor] };
    const bytes = Buffer.from(JSON.stringify(index));
    await location.putIndex(bytes);
  } catch (error) {
    const message = `Cannot export the build cache to "${location.name}": ${(error as Error).message}`;
    // The registry's status stays on the error, for callers that tell 401 from 5xx.
    if (error instanceof RegistryError) throw new RegistryError(message, { status: error.status, url: error.url, code: error.code, cause: error, ...(error.hint === undefined ? {} : { hint: error.hint }) });
    throw new TsbuildError(isTsbuildError(error) ? error.code : "INTERNAL", message, { cause: error });
  }
  return { keys: [...records.keys()], uploaded };
}

function isStep(vertex: Vertex): boolean {
  return vertex.definition.op === "exec" || vertex.definition.op === "file";
}
