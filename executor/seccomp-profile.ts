import { arch, release } from "node:os";
import type { RuntimeSeccomp, RuntimeSeccompRule } from "./runtime-spec.js";

/**
 * The seccomp filter every RUN step and container gets: the allow-list of docker's default
 * profile (moby/profiles `seccomp`, which BuildKit and containerd apply too), turned into OCI
 * config by the same rules: a syscall allowed for a capability only when the sandbox holds
 * it, architecture-specific calls only on their architecture, everything else EPERM. Without
 * it a step could unshare a user namespace and mount file systems, make kernel keyrings, or
 * reach the kernel's BPF, perf and module interfaces. `--security=insecure` lifts it, as in
 * BuildKit. The lists are data kept as docker has them; a name the runtime's libseccomp
 * does not know is skipped by runc and crun, so new calls may be listed early.
 */

/** Allowed for every process. */
const ALWAYS: readonly string[] = [
  "accept", "accept4", "access", "adjtimex", "alarm", "bind", "brk", "cachestat", "capget", "capset", "chdir", "chmod", "chown",
  "chown32", "clock_adjtime", "clock_adjtime64", "clock_getres", "clock_getres_time64", "clock_gettime", "clock_gettime64",
  "clock_nanosleep", "clock_nanosleep_time64", "close", "close_range", "connect", "copy_file_range", "creat", "dup", "dup2", "dup3",
  "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_pwait", "epoll_pwait2", "epoll_wait", "epoll_wait_old",
  "eventfd", "eventfd2", "execve", "execveat", "exit", "exit_group", "faccessat", "faccessat2", "fadvise64", "fadvise64_64",
  "fallocate", "fanotify_mark", "fchdir", "fchmod", "fchmodat", "fchmodat2", "fchown", "fchown32", "fchownat", "fcntl", "fcntl64",
  "fdatasync", "fgetxattr", "flistxattr", "flock", "fork", "fremovexattr", "fsetxattr", "fstat", "fstat64", "fstatat64", "fstatfs",
  "fstatfs64", "fsync", "ftruncate", "ftruncate64", "futex", "futex_requeue", "futex_time64", "futex_wait", "futex_waitv", "futex_wake",
  "futimesat", "getcpu", "getcwd", "getdents", "getdents64", "getegid", "getegid32", "geteuid", "geteuid32", "getgid", "getgid32",
  "getgroups", "getgroups32", "getitimer", "getpeername", "getpgid", "getpgrp", "getpid", "getppid", "getpriority", "getrandom",
  "getresgid", "getresgid32", "getresuid", "getresuid32", "getrlimit", "get_robust_list", "getrusage", "getsid", "getsockname",
  "getsockopt", "get_thread_area", "gettid", "gettimeofday", "getuid", "getuid32", "getxattr", "getxattrat", "inotify_add_watch",
  "inotify_init", "inotify_init1", "inotify_rm_watch", "io_cancel", "ioctl", "io_destroy", "io_getevents", "io_pgetevents",
  "io_pgetevents_time64", "ioprio_get", "ioprio_set", "io_setup", "io_submit", "ipc", "kill", "landlock_add_rule",
  "landlock_create_ruleset", "landlock_restrict_self", "lchown", "lchown32", "lgetxattr", "link", "linkat", "listen", "listmount",
  "listxattr", "listxattrat", "llistxattr", "_llseek", "lremovexattr", "lseek", "lsetxattr", "lstat", "lstat64", "madvise",
  "map_shadow_stack", "membarrier", "memfd_create", "memfd_secret", "mincore", "mkdir", "mkdirat", "mknod", "mknodat", "mlock",
  "mlock2", "mlockall", "mmap", "mmap2", "mprotect", "mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive",
  "mq_timedreceive_time64", "mq_timedsend", "mq_timedsend_time64", "mq_unlink", "mremap", "mseal", "msgctl", "msgget", "msgrcv",
  "msgsnd", "msync", "munlock", "munlockall", "munmap", "name_to_handle_at", "nanosleep", "newfstatat", "_newselect", "open",
  "openat", "openat2", "pause", "pidfd_open", "pidfd_send_signal", "pipe", "pipe2", "pkey_alloc", "pkey_free", "pkey_mprotect",
  "poll", "ppoll", "ppoll_time64", "prctl", "pread64", "preadv", "preadv2", "prlimit64", "process_mrelease", "pselect6",
  "pselect6_time64", "pwrite64", "pwritev", "pwritev2", "read", "readahead", "readlink", "readlinkat", "readv", "recv", "recvfrom",
  "recvmmsg", "recvmmsg_time64", "recvmsg", "remap_file_pages", "removexattr", "removexattrat", "rename", "renameat", "renameat2",
  "restart_syscall", "riscv_hwprobe", "rmdir", "rseq", "rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo",
  "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait", "rt_sigtimedwait_time64", "rt_tgsigqueueinfo", "sched_getaffinity",
  "sched_getattr", "sched_getparam", "sched_get_priority_max", "sched_get_priority_min", "sched_getscheduler",
  "sched_rr_get_interval", "sched_rr_get_interval_time64", "sched_setaffinity", "sched_setattr", "sched_setparam",
  "sched_setscheduler", "sched_yield", "seccomp", "select", "semctl", "semget", "semop", "semtimedop", "semtimedop_time64", "send",
  "sendfile", "sendfile64", "sendmmsg", "sendmsg", "sendto", "setfsgid", "setfsgid32", "setfsuid", "setfsuid32", "setgid",
  "setgid32", "setgroups", "setgroups32", "setitimer", "setpgid", "setpriority", "setregid", "setregid32", "setresgid",
  "setresgid32", "setresuid", "setresuid32", "setreuid", "setreuid32", "setrlimit", "set_robust_list", "setsid", "setsockopt",
  "set_thread_area", "set_tid_address", "setuid", "setuid32", "setxattr", "setxattrat", "shmat", "shmctl", "shmdt", "shmget",
  "shutdown", "sigaltstack", "signalfd", "signalfd4", "sigprocmask", "sigreturn", "socketcall", "socketpair", "splice", "stat",
  "stat64", "statfs", "statfs64", "statmount", "statx", "symlink", "symlinkat", "sync", "sync_file_range", "syncfs", "sysinfo",
  "tee", "tgkill", "time", "timer_create", "timer_delete", "timer_getoverrun", "timer_gettime", "timer_gettime64", "timer_settime",
  "timer_settime64", "timerfd_create", "timerfd_gettime", "timerfd_gettime64", "timerfd_settime", "timerfd_settime64", "times",
  "tkill", "truncate", "truncate64", "ugetrlimit", "umask", "uname", "unlink", "unlinkat", "uretprobe", "utime", "utimensat",
  "utimensat_time64", "utimes", "vfork", "vmsplice", "wait4", "waitid", "waitpid", "write", "writev",
];

/** Allowed only with a capability the sandbox holds. */
const WITH_CAPABILITY: Readonly<Record<string, readonly string[]>> = {
  CAP_DAC_READ_SEARCH: ["open_by_handle_at"],
  CAP_SYS_ADMIN: [
    "bpf", "clone", "clone3", "fanotify_init", "fsconfig", "fsmount", "fsopen", "fspick", "lookup_dcookie", "lsm_get_self_attr",
    "lsm_list_modules", "lsm_set_self_attr", "mount", "mount_setattr", "move_mount", "open_tree", "perf_event_open", "quotactl",
    "quotactl_fd", "setdomainname", "sethostname", "setns", "syslog", "umount", "umount2", "unshare",
  ],
  CAP_SYS_BOOT: ["reboot"],
  CAP_SYS_CHROOT: ["chroot"],
  CAP_SYS_MODULE: ["delete_module", "init_module", "finit_module"],
  CAP_SYS_PACCT: ["acct"],
  CAP_SYS_PTRACE: ["kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev", "ptrace"],
  CAP_SYS_RAWIO: ["iopl", "ioperm"],
  CAP_SYS_TIME: ["settimeofday", "stime", "clock_settime", "clock_settime64"],
  CAP_SYS_TTY_CONFIG: ["vhangup"],
  CAP_SYS_NICE: ["get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node"],
  CAP_SYSLOG: ["syslog"],
  CAP_BPF: ["bpf"],
  CAP_PERFMON: ["perf_event_open"],
};

/** Calls of one architecture family, keyed by Node's `process.arch`. */
const ARCH_SYSCALLS: Readonly<Record<string, readonly string[]>> = {
  x64: ["arch_prctl", "modify_ldt"],
  ia32: ["modify_ldt"],
  arm: ["arm_fadvise64_64", "arm_sync_file_range", "sync_file_range2", "breakpoint", "cacheflush", "set_tls"],
  arm64: ["arm_fadvise64_64", "arm_sync_file_range", "sync_file_range2", "breakpoint", "cacheflush", "set_tls"],
  ppc64: ["sync_file_range2", "swapcontext"],
  s390x: ["s390_pci_mmio_read", "s390_pci_mmio_write", "s390_runtime_instr"],
  riscv64: ["riscv_flush_icache"],
};

/** The filter's architectures (native first, then the compat ABIs a binary may use), by `process.arch`. */
const SECCOMP_ARCHES: Readonly<Record<string, readonly string[]>> = {
  x64: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
  ia32: ["SCMP_ARCH_X86"],
  arm64: ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"],
  arm: ["SCMP_ARCH_ARM"],
  s390x: ["SCMP_ARCH_S390X", "SCMP_ARCH_S390"],
  riscv64: ["SCMP_ARCH_RISCV64"],
  ppc64: ["SCMP_ARCH_PPC64LE"],
  loong64: ["SCMP_ARCH_LOONGARCH64"],
};

/**
 * Socket domains a sandbox may create (linux/socket.h numbers): all but those docker blocks,
 * which the kernel removed (DECnet 12, Econet 19, ATM SVC 20, IrDA 23, WANPIPE 25, ISDN 34,
 * CAIF 37) or which reach past the sandbox (AF_ALG 38, the kernel's crypto API; AF_VSOCK 40,
 * host and guest VMs whatever the network namespace).
 */
const SOCKET_DOMAINS: readonly number[] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14, 15, 16, 17, 18, 21, 22, 24, 26, 27, 28, 29, 30, 31, 32, 33, 35, 36, 39, 41, 42, 43, 44, 45];

/** personality(2) values that only pick an ABI detail: PER_LINUX, PER_LINUX32, UNAME26 variants, and the query 0xffffffff. */
const PERSONALITIES: readonly number[] = [0x0, 0x0008, 0x20000, 0x20008, 0xffffffff];

/** The namespace flags of clone(2) that an unprivileged sandbox may not pass. */
const CLONE_NAMESPACE_FLAGS = 0x00020000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000 | 0x02000000;
const EPERM = 1;
const ENOSYS = 38;

export interface SeccompProfileOptions {
  /** The capabilities the process holds (its bounding set). */
  capabilities: readonly string[];
  /** Default: this process's architecture (`process.arch`). */
  arch?: string;
  /** Default: this kernel's `uname -r`. */
  kernelRelease?: string;
}

/** The OCI `linux.seccomp` object of docker's default profile for a sandbox holding `capabilities`. */
export function defaultSeccompProfile(options: SeccompProfileOptions): RuntimeSeccomp {
  const machine = options.arch ?? arch();
  const caps = new Set(options.capabilities);
  const allowed = new Set(ALWAYS);
  for (const name of ARCH_SYSCALLS[machine] ?? []) allowed.add(name);
  for (const [capability, names] of Object.entries(WITH_CAPABILITY)) if (caps.has(capability)) for (const name of names) allowed.add(name);
  // From Linux 4.8 seccomp is checked again after a tracer changes a call, so ptrace cannot get around the filter.
  if (kernelAtLeast(options.kernelRelease ?? release(), 4, 8)) for (const name of ["process_vm_readv", "process_vm_writev", "ptrace"]) allowed.add(name);

  const syscalls: RuntimeSeccompRule[] = [{ names: [...allowed].sort(), action: "SCMP_ACT_ALLOW" }];
  syscalls.push(...socketRules());
  for (const value of PERSONALITIES) syscalls.push({ names: ["personality"], action: "SCMP_ACT_ALLOW", args: [{ index: 0, value, op: "SCMP_CMP_EQ" }] });
  if (!caps.has("CAP_SYS_ADMIN")) {
    // clone without namespace flags; s390 passes the flags second. clone3 hides its flags in
    // a struct seccomp cannot read: ENOSYS makes libc fall back to clone.
    const index = machine === "s390x" ? 1 : 0;
    syscalls.push({ names: ["clone"], action: "SCMP_ACT_ALLOW", args: [{ index, value: CLONE_NAMESPACE_FLAGS, valueTwo: 0, op: "SCMP_CMP_MASKED_EQ" }] });
    syscalls.push({ names: ["clone3"], action: "SCMP_ACT_ERRNO", errnoRet: ENOSYS });
  }
  return {
    defaultAction: "SCMP_ACT_ERRNO",
    defaultErrnoRet: EPERM,
    architectures: [...(SECCOMP_ARCHES[machine] ?? [])],
    syscalls,
  };
}

/**
 * socket(2) for the allowed domains. runc reads several comparisons of one argument as OR,
 * so a range is one "less than" from AF_UNIX up to the first gap, the rest one rule each.
 */
function socketRules(): RuntimeSeccompRule[] {
  const rules: RuntimeSeccompRule[] = [];
  let end = 0;
  while (end + 1 < SOCKET_DOMAINS.length && SOCKET_DOMAINS[end + 1] === SOCKET_DOMAINS[end] + 1) end++;
  rules.push({ names: ["socket"], action: "SCMP_ACT_ALLOW", args: [{ index: 0, value: SOCKET_DOMAINS[end] + 1, op: "SCMP_CMP_LT" }] });
  for (const domain of SOCKET_DOMAINS.slice(end + 1)) rules.push({ names: ["socket"], action: "SCMP_ACT_ALLOW", args: [{ index: 0, value: domain, op: "SCMP_CMP_EQ" }] });
  return rules;
}

function kernelAtLeast(text: string, major: number, minor: number): boolean {
  const match = /^(\d+)\.(\d+)/.exec(text);
  if (match === null) return false;
  const [have, haveMinor] = [Number(match[1]), Number(match[2])];
  return have > major || (have === major && haveMinor >= minor);
}
