/**
 * The public API of tsbuild: builds, images and containers on a root, and registries. An
 * explicit list, so what is public is a decision; every option and result type is here too.
 * The parts a build is made of are subpath exports: `tsbuild/parser`, `tsbuild/frontend`,
 * `tsbuild/solver`, `tsbuild/exporter`, `tsbuild/store`, `tsbuild/snapshotter`,
 * `tsbuild/executor`, `tsbuild/oci`, `tsbuild/worker`, `tsbuild/registry`, `tsbuild/container`.
 * Errors are `TsbuildError`s with a stable `code`.
 */

// Errors
export { ERROR_CODES, TsbuildError, isTsbuildError } from "./errors.js";
export type { ErrorCode, TsbuildErrorOptions } from "./errors.js";
export { DockerfileSyntaxError } from "./parser/syntax-error.js";
export type { SyntaxErrorLocation } from "./parser/syntax-error.js";
export { BuildFailure } from "./solver/build-failure.js";
export type { FailedStep } from "./solver/build-failure.js";
export { ExecError } from "./executor/exec-error.js";
export { RegistryError } from "./registry/registry-error.js";

// Builds: Dockerfile + context → image, cached and in parallel
export { build } from "./build/build.js";
export type { BuildOptions, BuildResult, BuildPlan, DryRunOptions } from "./build/build.js";
export { buildWithEvents } from "./build/build-events.js";
export type { BuildRun, BuildWithEventsOptions } from "./build/build-events.js";
export { buildMetadata } from "./build/build-metadata.js";
export type { BuildPhase, OperationProgress, ProgressEvent, ProgressListener, StepReport, StepStatus, Worker as SolverWorker } from "./solver/types.js";
export type { FileChange, MissReason } from "./solver/explain-miss.js";
export type { Entitlement } from "./solver/check-entitlements.js";
export type { CacheLocationSpec } from "./solver/cache-location.js";
export type { ExportedCache } from "./solver/cache-export.js";
export type { BuildWarning, VertexLocation } from "./frontend/graph.js";
export type { SourcePosition, SourceRange } from "./parser/ast.js";
export type { ResourceLimits, SecretSource, SshSource } from "./executor/types.js";
export type { Digest } from "./oci/digest.js";
export type { Descriptor, HistoryEntry, ImageConfig, ImageManifest } from "./oci/image-types.js";

// Image operations on a root (docker import/load/save/images/tag/rmi/inspect/history/prune/system df/commit)
export {
  openWorker,
  Worker,
  importRootfs,
  loadImages,
  saveImages,
  listImages,
  tagImage,
  removeImages,
  inspectImage,
  imageHistory,
  pruneImages,
  diskUsage,
  commitImage,
} from "./worker/index.js";
export type {
  OpenWorkerOptions,
  ImportRootfsOptions,
  ImportRootfsResult,
  LoadImagesOptions,
  LoadImagesResult,
  LoadedImage,
  SaveImagesOptions,
  SaveImagesResult,
  ListImagesOptions,
  ImageListEntry,
  RemoveImagesOptions,
  RemoveImagesResult,
  RemovedImage,
  ImageInspect,
  HistoryRow,
  PruneImagesOptions,
  PruneImagesResult,
  DiskUsageRow,
  CommitImageOptions,
  CommitImageResult,
} from "./worker/index.js";

// Registries
export { pullImage, pushImage, login, logout } from "./registry/index.js";
export type { PullImageOptions, PullImageResult, PushImageOptions, PushImageResult, LoginOptions, RegistryAccessOptions, TransferProgress } from "./registry/index.js";

// Containers on a root (docker run/ps/logs/stop/kill/start/rm/exec/diff/cp/top/commit/wait/attach/rename, volumes)
export {
  runContainer,
  createContainer,
  startContainer,
  stopContainer,
  killContainer,
  restartContainer,
  removeContainer,
  listContainers,
  commitContainer,
  containerDiff,
  containerLogs,
  containerTop,
  execInContainer,
  inspectContainer,
  copyFromContainer,
  copyToContainer,
  waitContainer,
  attachContainer,
  renameContainer,
  resizeContainer,
  createVolume,
  listVolumes,
  inspectVolume,
  removeVolume,
  pruneVolumes,
} from "./container/index.js";
export type {
  RunContainerOptions,
  RunContainerResult,
  CreateContainerOptions,
  CommitContainerOptions,
  ContainerListEntry,
  ContainerRecord,
  ContainerState,
  ContainerChange,
  ContainerInspect,
  ExecContainerOptions,
  AttachContainerOptions,
  ConsoleSize,
  HealthState,
  PortBinding,
  RestartPolicy,
  Volume,
} from "./container/index.js";
