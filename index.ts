/**
 * The public API of tsbuild: an explicit list, so what is public is a decision.
 * Everything here is typed; errors are `TsbuildError`s with a stable `code`.
 */

// Errors
export { ERROR_CODES, TsbuildError, isTsbuildError } from "./errors.js";
export type { ErrorCode, TsbuildErrorOptions } from "./errors.js";
export { DockerfileSyntaxError } from "./parser/syntax-error.js";
export type { SyntaxErrorLocation } from "./parser/syntax-error.js";

// Parsing: Dockerfile text → AST → typed instructions; shell-word expansion
export { parseDockerfile, parseInstructionLine } from "./parser/parse-dockerfile.js";
export type { ParseDockerfileOptions } from "./parser/parse-dockerfile.js";
export type {
  ArgNode,
  DirectiveNode,
  DockerfileAst,
  FlagNode,
  HeredocNode,
  InstructionNode,
  ParseWarning,
  SourcePosition,
  SourceRange,
} from "./parser/ast.js";
export { astToJson, dumpAst } from "./parser/dump.js";
export { expandWord, expandWords } from "./parser/shell-lexer.js";
export type { ExpandResult, ShellEnv, ShellLexerOptions } from "./parser/shell-lexer.js";
export { parseInstruction, parseInstructions } from "./frontend/instructions/parse-instructions.js";
export type * from "./frontend/instructions/types.js";

// The build graph (pure): typed instructions → vertices + image config
export { convertDockerfile } from "./frontend/convert-dockerfile.js";
export type { ConvertOptions } from "./frontend/convert-dockerfile.js";
export type { BuildGraph, BuildWarning, Vertex, VertexDefinition, ImageConfigResolver, ResolvedImage } from "./frontend/graph.js";

// Images and references
export { normalizeReference, parseReference, familiarString } from "./oci/reference.js";
export type { ImageReference } from "./oci/reference.js";
export type { Descriptor, ImageConfig, ImageIndex, ImageManifest, HistoryEntry } from "./oci/image-types.js";

// The store, snapshots and sandboxes
export { openStore, Store } from "./store/store.js";
export type { OpenStoreOptions, PruneOptions, PruneReport, RemoveImageOptions, RemoveImageResult } from "./store/store.js";
export { resolveRoot } from "./store/resolve-root.js";
export { createSnapshotter } from "./snapshotter/create-snapshotter.js";
export type { Mount, Snapshotter, SnapshotInfo, SnapshotKind } from "./snapshotter/types.js";
export { Executor } from "./executor/executor.js";
export type { ExecutorOptions } from "./executor/executor.js";
export { ExecError } from "./executor/exec-error.js";
export { detectDefaultRuntime, probeRuntimes } from "./executor/runtime-probe.js";
export type { RuntimeProbe } from "./executor/runtime-probe.js";
export type { ExecProcess, ExecResult, ExecRunOptions, NetworkMode, RunMount, SecretSource, SecurityMode, SshSource } from "./executor/types.js";

// Image operations on a root (docker import/load/save/images/tag/rmi/inspect/history/prune/system df)
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
  fsck,
  unpackImage,
  commitImage,
} from "./worker/index.js";
export type {
  OpenWorkerOptions,
  ImportRootfsOptions,
  ImportRootfsResult,
  LoadImagesOptions,
  LoadImagesResult,
  SaveImagesOptions,
  SaveImagesResult,
  ListImagesOptions,
  ImageListEntry,
  RemoveImagesOptions,
  RemoveImagesResult,
  ImageInspect,
  HistoryRow,
  PruneImagesOptions,
  PruneImagesResult,
  DiskUsageRow,
  WorkerFsckReport,
  UnpackImageOptions,
  UnpackImageResult,
  CommitImageOptions,
  CommitImageResult,
} from "./worker/index.js";

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

// Builds: Dockerfile + context → image, cached and in parallel
export { build } from "./solver/build.js";
export type { BuildOptions, BuildResult } from "./solver/build.js";
export { buildWithEvents } from "./solver/build-events.js";
export type { BuildRun } from "./solver/build-events.js";
export { BuildFailure } from "./solver/build-failure.js";
export type { FailedStep } from "./solver/build-failure.js";
export type { ProgressEvent, ProgressListener, StepStatus } from "./solver/types.js";
export type { Entitlement } from "./solver/check-entitlements.js";

// Registries
export { pullImage, pushImage, ensureImage, login, logout, RegistryError } from "./registry/index.js";
export type { PullImageOptions, PullImageResult, PushImageOptions, PushImageResult, EnsureImageOptions, LoginOptions } from "./registry/index.js";
