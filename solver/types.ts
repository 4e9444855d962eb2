import type { Digest } from "../oci/digest.js";
import type { Descriptor, ImageConfig } from "../oci/image-types.js";
import type { ExecProcess, ExecResult, ExecRunOptions } from "../executor/types.js";
import type { Snapshotter } from "../snapshotter/types.js";
import type { Lease } from "../store/ref-store.js";
import type { Store } from "../store/store.js";
import type { ImageConfigResolver, ResolvedImage, VertexLocation } from "../frontend/graph.js";
import type { PlatformSpec } from "../frontend/platform.js";
import type { MissReason } from "./explain-miss.js";

/**
 * The solver's vocabulary: the worker it reaches the world through, and the progress events
 * it emits. The solver itself holds graph logic and cache keys; every file system, process
 * and store effect goes through a `Worker`, so tests can give it a real one on a temp root.
 */

/** Runs a process over a mounted rootfs (executor/'s `Executor` implements it). */
export interface ProcessRunner {
  run(rootfs: string, proc: ExecProcess, options?: ExecRunOptions): Promise<ExecResult>;
}

/** A base image unpacked into committed snapshots. */
export interface UnpackedImage {
  /** The committed snapshot of the top layer; undefined for an image without layers. */
  top: string | undefined;
  /** The image's layers as its manifest names them, base first. */
  layers: Descriptor[];
  config: ImageConfig;
}

/** Base images: their configs for the frontend, their layers for the solver and the exporter. */
export interface ImageSource extends ImageConfigResolver {
  /** The image's config, pinned by digest; pulled first when the store lacks it (with progress, cancellable). */
  resolveImageConfig(ref: string, options: { platform: PlatformSpec; signal?: AbortSignal; onProgress?: (progress: OperationProgress) => void }): Promise<ResolvedImage>;
  /**
   * Unpacks the image into committed snapshots (reusing those that exist), held by `lease`
   * (the build's) so that an `rmi` or `prune` meanwhile leaves them.
   */
  unpack(ref: string, options: { signal?: AbortSignal; lease?: Lease; onProgress?: (progress: OperationProgress) => void }): Promise<UnpackedImage>;
  /**
   * The image's layers and config, without unpacking anything. With `layers: true` its layer
   * blobs are fetched first when the store lacks them (a base resolved by its config only),
   * as an export that writes an image over it needs.
   */
  describe(ref: string, options?: { layers?: boolean; signal?: AbortSignal; onProgress?: (progress: OperationProgress) => void }): Promise<Omit<UnpackedImage, "top">>;
  /** Writes images of the store as a docker or OCI archive (`--output type=docker|oci`). */
  save(references: readonly string[], options: { output: string; format: "docker" | "oci"; sourceDateEpoch?: number; signal?: AbortSignal }): Promise<void>;
}

/** What the solver needs of the machine: BuildKit's worker. */
export interface Worker {
  store: Store;
  snapshotter: Snapshotter;
  executor: ProcessRunner;
  images: ImageSource;
  /** A directory for mount points and logs of running steps (removed by whoever made it). */
  tempDir: string;
}

/** A vertex's outcome as the result reports it. */
export type StepStatus = "cached" | "done" | "failed" | "skipped" | "would-run";

/** One step of the build as the result reports it. */
export interface StepReport {
  vertex: string;
  name: string;
  status: StepStatus;
  /** Whole milliseconds; 0 for cached steps. */
  durationMs: number;
  cacheKey: Digest;
  /** For a step that ran (or, in a dry run, would run): why the cache could not serve it. */
  missReason?: MissReason;
}

interface VertexEventBase {
  /** The vertex id within the graph. */
  vertex: string;
  /** Its display name: `[build 2/5] RUN make`. */
  name: string;
  /** Monotonic step number, in the order steps started (BuildKit's `#N`). */
  step: number;
}

/**
 * Progress of one long piece of work: a layer pulled, a layer diffed and compressed, a blob
 * pushed, a cache record imported. `current` and `total` count `unit`s; an update with
 * `done` is the last one for its `id`.
 */
export interface OperationProgress {
  /** What the work is about: a layer or blob digest, a path, an image name. */
  id: string;
  /** What is being done: `pull`, `unpack`, `diff`, `write`, `push`, `save`, `copy`, `import`, `export`. */
  action: string;
  current: number;
  total?: number;
  unit: "bytes" | "items";
  done?: boolean;
}

/** A build-level phase after the steps (or around them): exporting, pushing, the shared cache. */
export type BuildPhase = "pull" | "export" | "push" | "cache-import" | "cache-export";

export type ProgressEvent =
  /** `missReason`: for a step the cache could not serve, why (a changed file, build arg, instruction or parent). */
  | (VertexEventBase & { type: "vertex-started"; location: VertexLocation | undefined; missReason?: MissReason })
  | (VertexEventBase & { type: "vertex-cached" })
  | (VertexEventBase & { type: "vertex-log"; stream: "stdout" | "stderr"; data: Buffer })
  | (VertexEventBase & { type: "vertex-progress"; progress: OperationProgress })
  /** `durationMs`: whole milliseconds. */
  | (VertexEventBase & { type: "vertex-completed"; durationMs: number })
  | (VertexEventBase & { type: "vertex-failed"; error: Error; durationMs: number })
  /** A phase's own progress: `name` says what (`exporting to image`, `pushing localhost:5000/app:1`). */
  | { type: "phase-progress"; phase: BuildPhase; name: string; progress: OperationProgress }
  | { type: "warning"; code: string; message: string; location: VertexLocation | undefined }
  /** Before any step starts: every vertex the output needs, so a view can show a fixed total. */
  | { type: "steps-planned"; steps: Array<{ vertex: string; name: string }> }
  /** The last event of a build that succeeded. */
  | { type: "result"; imageId: Digest; manifestDigest: Digest; names: string[]; durationMs: number };

export type ProgressListener = (event: ProgressEvent) => void;

/** What a solved vertex yields. */
export type VertexResult =
  /** Nothing: scratch. */
  | { kind: "empty" }
  /** A committed snapshot (an image layer or a step's output). */
  | {
      kind: "snapshot";
      key: string;
      image?: UnpackedImage;
      /** Its layer, when the step made it as a layer first (COPY --link); the cache record keeps it. */
      layer?: LayerRecord;
      /** When the step that made it ran, if not now (a reused COPY --link layer keeps its date). */
      created?: string;
    }
  /** A host directory read in place: the build context. */
  | { kind: "directory"; path: string; exclude: string[] };

/** One layer of the exported image's chain, as the cache index remembers it. */
export interface LayerRecord {
  diffId: Digest;
  descriptor: Descriptor;
  /** True when the step changed nothing: the layer is left out and history says so. */
  empty: boolean;
  /** The SOURCE_DATE_EPOCH its mtimes were clamped to, if any: another epoch needs another diff. */
  epoch?: number;
}
