/** Containers: an image plus a writable snapshot and a process, after docker's container commands. */
export { runContainer, type RunContainerOptions, type RunContainerResult } from "./run-container.js";
export { createContainer, type CreateContainerOptions } from "./create-container.js";
export { startContainer, type AttachOptions, type StartContainerOptions, type StartedContainer } from "./start-container.js";
export { stopContainer, killContainer, type StopContainerOptions } from "./stop-container.js";
export { removeContainer, type RemoveContainerOptions } from "./remove-container.js";
export { listContainers, describeState, type ContainerListEntry } from "./list-containers.js";
export { commitContainer, type CommitContainerOptions } from "./commit-container.js";
export { applyCommitChanges } from "./apply-commit-changes.js";
export { containerDiff, type ContainerChange } from "./container-diff.js";
export { findContainer, type ContainerRecord, type ContainerMount } from "./container-record.js";
export { type ContainerState, type ContainerStatus } from "./container-state.js";
export { createVolume, listVolumes, inspectVolume, removeVolume, pruneVolumes, type Volume, type CreateVolumeOptions } from "./volumes.js";
export { containerLogs, type ContainerLogsOptions, type LogEntry } from "./container-logs.js";
export { execInContainer, type ExecContainerOptions } from "./exec-container.js";
export { restartContainer } from "./restart-container.js";
export { inspectContainer, type ContainerInspect } from "./inspect-container.js";
export { containerTop, type ContainerProcess } from "./container-top.js";
export { copyFromContainer, copyToContainer, type CopyOptions } from "./copy-container-files.js";
