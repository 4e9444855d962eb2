/**
 * `tsbuild/solver`: the scheduler and its seams. Give `schedule` vertices whose operations
 * implement `Operation` and a `ResultCache`, and it solves them as a build is solved.
 */
export { schedule, type Schedule, type ScheduleOptions } from "./scheduler.js";
export type { CacheMap, CacheMapContext, ExecuteContext, MissExplainer, Operation, OperationContext, ResultCache, ScheduledVertex } from "./operation.js";
export type { BuildPhase, ImageSource, LayerRecord, OperationProgress, ProcessRunner, ProgressEvent, ProgressListener, StepReport, StepStatus, UnpackedImage, VertexResult, Worker } from "./types.js";
export { explainMiss, type FileChange, type MissReason, type StepComponents } from "./explain-miss.js";
export { computeCacheKey, canonicalJson, type CacheKeyInputs } from "./cache-key.js";
export { CacheIndex, type CacheEntry } from "./cache-index.js";
export { graphOperations } from "./ops/graph-operations.js";
export type { StepEnvironment } from "./ops/step-environment.js";
export { openBuildWorker, type BuildWorker, type OpenBuildWorkerOptions } from "../build/open-build-worker.js";
export { solveBuild, type SolveBuildOptions, type SolvedGraph } from "../build/solve-build.js";
export { BuildFailure, type FailedStep } from "./build-failure.js";
