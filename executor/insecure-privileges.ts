import { readdir, readFile } from "node:fs/promises";
import type { RuntimeDevice } from "./runtime-spec.js";

/** What an insecure step gets beyond a sandboxed one (see `createRuntimeSpec`'s `insecure`). */
export interface InsecurePrivileges {
  capabilities: string[];
  devices: RuntimeDevice[];
}

/** Capability names by bit number (linux/capability.h), up to CAP_CHECKPOINT_RESTORE. */
const CAPABILITY_NAMES: readonly string[] = [
  "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID",
  "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
  "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
  "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP",
  "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
  "CAP_CHECKPOINT_RESTORE",
];

/** The devices BuildKit's `WithInsecureSpec` adds (outside a user namespace): dmesg, fuse, kvm, tun, loop control. */
const INSECURE_DEVICES: readonly RuntimeDevice[] = [
  { path: "/dev/kmsg", type: "c", major: 1, minor: 11 },
  { path: "/dev/cuse", type: "c", major: 10, minor: 203 },
  { path: "/dev/fuse", type: "c", major: 10, minor: 229 },
  { path: "/dev/kvm", type: "c", major: 10, minor: 232 },
  { path: "/dev/net/tun", type: "c", major: 10, minor: 200 },
  { path: "/dev/loop-control", type: "c", major: 10, minor: 237 },
];

/** BuildKit adds loop devices up to the first free one plus 7; without its ioctl, the highest existing plus 8. */
const EXTRA_LOOP_DEVICES = 8;

/**
 * What BuildKit's insecure mode grants, read from this host: every capability this process
 * holds (BuildKit's `cap.Current()`: a step can have no more than its builder), and the
 * devices above with loop devices /dev/loop0..N.
 */
export async function insecurePrivileges(): Promise<InsecurePrivileges> {
  const status = await readFile("/proc/self/status", "utf8");
  const hex = /^CapEff:\s*([0-9a-f]+)$/m.exec(status)?.[1] ?? "0";
  const bits = BigInt(`0x${hex}`);
  const capabilities = CAPABILITY_NAMES.filter((_, bit) => (bits >> BigInt(bit)) & 1n);
  const loops = (await readdir("/dev").catch(() => [] as string[])).map((name) => /^loop(\d+)$/.exec(name)?.[1]).filter((n) => n !== undefined).map(Number);
  const last = (loops.length === 0 ? -1 : Math.max(...loops)) + EXTRA_LOOP_DEVICES;
  const devices = INSECURE_DEVICES.map((device) => ({ ...device }));
  for (let i = 0; i <= last; i++) devices.push({ path: `/dev/loop${i}`, type: "b", major: 7, minor: i });
  return { capabilities, devices };
}
