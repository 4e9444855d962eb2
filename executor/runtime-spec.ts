/**
 * The part of the OCI runtime specification's config.json (version 1.0.x) that tsbuild
 * writes. Field names follow the specification exactly, since the object is serialised as is.
 */

/** The root object of config.json. */
export interface RuntimeSpec {
  ociVersion: string;
  process: RuntimeProcess;
  root: { path: string; readonly?: boolean };
  hostname?: string;
  mounts: RuntimeMount[];
  linux: RuntimeLinux;
  annotations?: Record<string, string>;
}

export interface RuntimeProcess {
  terminal?: boolean;
  user: RuntimeUser;
  args: string[];
  env: string[];
  cwd: string;
  capabilities?: RuntimeCapabilities;
  rlimits?: RuntimeRlimit[];
  noNewPrivileges?: boolean;
  oomScoreAdj?: number;
}

export interface RuntimeUser {
  uid: number;
  gid: number;
  umask?: number;
  additionalGids?: number[];
}

/** Capability names as the specification spells them: `CAP_CHOWN` ... */
export interface RuntimeCapabilities {
  bounding: string[];
  effective: string[];
  permitted: string[];
  inheritable?: string[];
  ambient?: string[];
}

export interface RuntimeRlimit {
  /** `RLIMIT_NOFILE` ... */
  type: string;
  soft: number;
  hard: number;
}

export interface RuntimeMount {
  destination: string;
  type?: string;
  source?: string;
  options?: string[];
}

export type NamespaceType = "pid" | "network" | "mount" | "ipc" | "uts" | "user" | "cgroup";

export interface RuntimeNamespace {
  type: NamespaceType;
  /** Join this existing namespace instead of creating one. */
  path?: string;
}

export interface RuntimeDeviceRule {
  allow: boolean;
  type?: "a" | "c" | "b";
  major?: number;
  minor?: number;
  access?: string;
}

export interface RuntimeResources {
  devices?: RuntimeDeviceRule[];
  memory?: { limit?: number; swap?: number };
  cpu?: { shares?: number; quota?: number; period?: number };
  pids?: { limit: number };
}

/** A device node the runtime creates in the container's /dev. */
export interface RuntimeDevice {
  path: string;
  type: "c" | "b";
  major: number;
  minor: number;
  fileMode?: number;
  uid?: number;
  gid?: number;
}

export interface RuntimeLinux {
  namespaces: RuntimeNamespace[];
  devices?: RuntimeDevice[];
  resources?: RuntimeResources;
  cgroupsPath?: string;
  maskedPaths?: string[];
  readonlyPaths?: string[];
  rootfsPropagation?: string;
  sysctl?: Record<string, string>;
  seccomp?: RuntimeSeccomp;
}

/** `linux.seccomp`: a default action and rules that override it per syscall. */
export interface RuntimeSeccomp {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  syscalls: RuntimeSeccompRule[];
}

export interface RuntimeSeccompRule {
  names: string[];
  action: string;
  errnoRet?: number;
  args?: Array<{ index: number; value: number; valueTwo?: number; op: string }>;
}

/** The specification version the written config.json claims. */
export const RUNTIME_SPEC_VERSION = "1.0.2";

/**
 * The JSON text of config.json (or a process.json). A string may hold lone surrogates (the
 * bytes of a Dockerfile that are not UTF-8, kept as U+DC80–U+DCFF): JSON.stringify writes them
 * as `\udcff` escapes, which runc (Go) reads as U+FFFD but crun (yajl) as three raw bytes. They
 * are made U+FFFD here, as BuildKit's Go encoding does, so every runtime runs the same argv.
 */
export function serializeRuntimeJson(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) => (typeof item === "string" ? item.replace(LONE_SURROGATE, "\ufffd") : item));
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
