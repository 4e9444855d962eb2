import type { InsecurePrivileges } from "./insecure-privileges.js";
import type { ResourceLimits } from "./types.js";
import { processIdMapping, type IdMapping } from "../util/id-mapping.js";
import { adaptSpecToUserNamespace } from "./rootless-spec.js";
import { defaultSeccompProfile } from "./seccomp-profile.js";
import type { ResolvedUser } from "./user.js";
import {
  RUNTIME_SPEC_VERSION,
  type RuntimeDeviceRule,
  type RuntimeMount,
  type RuntimeNamespace,
  type RuntimeResources,
  type RuntimeRlimit,
  type RuntimeSpec,
} from "./runtime-spec.js";

/** Docker's default capability set, which BuildKit also gives RUN. Everything else is dropped. */
export const DEFAULT_CAPABILITIES: readonly string[] = [
  "CAP_CHOWN",
  "CAP_DAC_OVERRIDE",
  "CAP_FSETID",
  "CAP_FOWNER",
  "CAP_MKNOD",
  "CAP_NET_RAW",
  "CAP_SETGID",
  "CAP_SETUID",
  "CAP_SETFCAP",
  "CAP_SETPCAP",
  "CAP_NET_BIND_SERVICE",
  "CAP_SYS_CHROOT",
  "CAP_KILL",
  "CAP_AUDIT_WRITE",
];

/** Docker's masked paths: hidden because they leak host information or allow host control. */
export const MASKED_PATHS: readonly string[] = [
  "/proc/asound",
  "/proc/acpi",
  "/proc/kcore",
  "/proc/keys",
  "/proc/latency_stats",
  "/proc/timer_list",
  "/proc/timer_stats",
  "/proc/sched_debug",
  "/proc/scsi",
  "/sys/firmware",
  "/sys/devices/virtual/powercap",
];

/** Docker's read-only /proc paths: kernel tunables that are not namespaced. */
export const READONLY_PATHS: readonly string[] = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

/** PATH for a process whose environment has none, as BuildKit sets it for Linux images. */
export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** The character devices of the minimal /dev, as cgroup rules (the runtime creates the nodes). */
const ALLOWED_DEVICES: readonly RuntimeDeviceRule[] = [
  { allow: false, access: "rwm" },
  { allow: true, type: "c", major: 1, minor: 3, access: "rwm" }, // null
  { allow: true, type: "c", major: 1, minor: 5, access: "rwm" }, // zero
  { allow: true, type: "c", major: 1, minor: 7, access: "rwm" }, // full
  { allow: true, type: "c", major: 1, minor: 8, access: "rwm" }, // random
  { allow: true, type: "c", major: 1, minor: 9, access: "rwm" }, // urandom
  { allow: true, type: "c", major: 5, minor: 0, access: "rwm" }, // tty
  { allow: true, type: "c", major: 5, minor: 2, access: "rwm" }, // ptmx
  { allow: true, type: "c", major: 136, access: "rwm" }, // pts/*
];

/** Insecure mode's device rules: every character and block device. */
const ALL_DEVICES: readonly RuntimeDeviceRule[] = [
  { allow: false, access: "rwm" },
  { allow: true, type: "c", access: "rwm" },
  { allow: true, type: "b", access: "rwm" },
];

export interface CreateRuntimeSpecOptions {
  args: string[];
  /** Complete environment (`KEY=value`). */
  env: string[];
  cwd: string;
  user: ResolvedUser;
  hostname: string;
  /**
   * `none` gives the sandbox its own network namespace, in which the runtime brings up only
   * `lo`; `{ namespacePath }` joins one made for it (see `openSandboxNetwork`).
   */
  network: "host" | "none" | { namespacePath: string };
  /** Mounts after the standard ones (hosts, resolv.conf, RUN mounts), in order. */
  mounts?: RuntimeMount[];
  /** Relative paths nest under the runtime's own cgroup (runc) or the hierarchy root (crun); omit for none. */
  cgroupsPath?: string;
  limits?: ResourceLimits;
  /** See `defaultRlimits`. */
  rlimits?: readonly RuntimeRlimit[];
  /**
   * `RUN --security=insecure`, as BuildKit's insecure mode (`WithInsecureSpec`,
   * `WithWriteableSysfs`): these capabilities in every set, nothing masked or read-only,
   * /sys writable, every character and block device allowed, these device nodes created.
   */
  insecure?: InsecurePrivileges;
  /** The user namespace the runtime runs in (rootless: see rootless-spec.ts). Default: this process's. */
  idMapping?: IdMapping;
}

/**
 * The config.json for one sandboxed process, isolated like BuildKit's RUN: new mount, pid,
 * ipc and uts namespaces (and network for `none`), Docker's capabilities, masked and
 * read-only paths, docker's default seccomp profile, no new privileges, /proc, a minimal
 * /dev and a read-only /sys.
 */
export function createRuntimeSpec(rootfs: string, options: CreateRuntimeSpecOptions): RuntimeSpec {
  const namespaces: RuntimeNamespace[] = [{ type: "mount" }, { type: "pid" }, { type: "ipc" }, { type: "uts" }];
  if (options.network === "none") namespaces.push({ type: "network" });
  else if (options.network !== "host") namespaces.push({ type: "network", path: options.network.namespacePath });
  const insecure = options.insecure;
  const capabilities = insecure === undefined ? [...DEFAULT_CAPABILITIES] : [...insecure.capabilities];
  const spec: RuntimeSpec = {
    ociVersion: RUNTIME_SPEC_VERSION,
    process: {
      terminal: false,
      // The primary group is also a supplementary one (containerd's and BuildKit's fix for
      // CVE-2023-25173): otherwise a setgid binary or newgrp could shed it, and a file
      // readable by that group alone but denied to "others" would be read.
      user: { uid: options.user.uid, gid: options.user.gid, additionalGids: [...new Set([options.user.gid, ...options.user.additionalGids])] },
      args: [...options.args],
      env: [...options.env],
      cwd: options.cwd,
      capabilities:
        insecure === undefined
          ? { bounding: capabilities, effective: capabilities, permitted: capabilities }
          : { bounding: capabilities, effective: capabilities, permitted: capabilities, inheritable: capabilities, ambient: capabilities },
      rlimits: (options.rlimits ?? []).map((r) => ({ ...r })),
      noNewPrivileges: true,
    },
    root: { path: rootfs, readonly: false },
    hostname: options.hostname,
    mounts: [...standardMounts({ writableSys: insecure !== undefined }), ...(options.mounts ?? [])],
    linux: {
      namespaces,
      maskedPaths: insecure === undefined ? [...MASKED_PATHS] : [],
      readonlyPaths: insecure === undefined ? [...READONLY_PATHS] : [],
      ...(insecure === undefined ? {} : { devices: insecure.devices.map((device) => ({ ...device })) }),
      // Insecure mode lifts the filter, as BuildKit's does (and docker's --privileged).
      ...(insecure === undefined ? { seccomp: defaultSeccompProfile({ capabilities }) } : {}),
    },
  };
  if (options.cgroupsPath !== undefined) {
    spec.linux.cgroupsPath = options.cgroupsPath;
    spec.linux.resources = createResources(options.limits, insecure === undefined ? ALLOWED_DEVICES : ALL_DEVICES);
  }
  return adaptSpecToUserNamespace(spec, { mapping: options.idMapping ?? processIdMapping(), hostNetwork: options.network === "host" });
}

function standardMounts(options: { writableSys: boolean }): RuntimeMount[] {
  return [
    { destination: "/proc", type: "proc", source: "proc", options: ["nosuid", "noexec", "nodev"] },
    { destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"] },
    {
      destination: "/dev/pts",
      type: "devpts",
      source: "devpts",
      options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"],
    },
    { destination: "/dev/shm", type: "tmpfs", source: "shm", options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"] },
    { destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"] },
    { destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", options.writableSys ? "rw" : "ro"] },
  ];
}

function createResources(limits: ResourceLimits = {}, devices: readonly RuntimeDeviceRule[]): RuntimeResources {
  const resources: RuntimeResources = { devices: devices.map((rule) => ({ ...rule })) };
  if (limits.memoryBytes !== undefined) resources.memory = { limit: limits.memoryBytes };
  if (limits.pids !== undefined) resources.pids = { limit: limits.pids };
  if (limits.cpus !== undefined) {
    const period = 100_000;
    resources.cpu = { period, quota: Math.max(1000, Math.round(limits.cpus * period)) };
  }
  return resources;
}
