/** `tsbuild/executor`: processes in OCI runtime sandboxes (runc, crun). */
export { Executor, type ExecutorOptions } from "./executor.js";
export { ExecError } from "./exec-error.js";
export { detectDefaultRuntime, probeRuntimes, type RuntimeProbe } from "./runtime-probe.js";
export type { ExecProcess, ExecResult, ExecRunOptions, NetworkMode, ResourceLimits, RunMount, SecretSource, SecurityMode, SshSource } from "./types.js";
