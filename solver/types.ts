import type { Digest } from "../oci/digest.js";
import type { Descriptor, ImageConfig } from "../oci/image-types.js";
import type { ExecProcess, ExecResult, ExecRunOptions } from "../executor/types.js";
import type { Snapshotter } from "../snapshotter/types.js";
import type { Store } from "../store/store.js";
import type { ImageConfigResolver, VertexLocation } from "../frontend/graph.js";

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
  /** Unpacks the image into committed snapshots (reusing those that exist). */
  unpack(ref: string, options: { signal?: AbortSignal }): Promise<UnpackedImage>;
  /** The image's layers and config, without unpacking anything. */
  describe(ref: string): Promise<Omit<UnpackedImage, "top">>;
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
export type StepStatus = "cached" | "done" | "failed" | "skipped";

interface VertexEventBase {
  /** The vertex id within the graph. */
  vertex: string;
  /** Its display name: `[build 2/5] RUN make`. */
  name: string;
  /** Monotonic step number, in the order steps started (BuildKit's `#N`). */
  step: number;
}

export type ProgressEvent =
  /** `missReason`: for a step the cache could not serve, why (a changed file, build arg, instruction or parent). */
  | (VertexEventBase & { type: "vertex-started"; location: VertexLocation | undefined; missReason?: string })
  | (VertexEventBase & { type: "vertex-cached" })
  | (VertexEventBase & { type: "vertex-log"; stream: "stdout" | "stderr"; data: Buffer })
  | (VertexEventBase & { type: "vertex-completed"; durationMs: number })
  | (VertexEventBase & { type: "vertex-failed"; error: Error; durationMs: number })
  | { type: "warning"; code: string; message: string; location: VertexLocation | undefined }
  /** Before any step starts: every vertex the output needs, so a view can show a fixed total. */
  | { type: "steps-planned"; steps: Array<{ vertex: string; name: string }> };

export type ProgressListener = (event: ProgressEvent) => void;

/** What a solved vertex yields. */
export type VertexResult =
  /** Nothing: scratch. */
  | { kind: "empty" }
  /** A committed snapshot (an image layer or a step's output). */
  | { kind: "snapshot"; key: string; image?: UnpackedImage }
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
