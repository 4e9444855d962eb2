import { test } from "uvu";
import * as assert from "uvu/assert";
import { createRuntimeSpec, DEFAULT_CAPABILITIES, type CreateRuntimeSpecOptions } from "../../executor/create-runtime-spec.js";

const base: CreateRuntimeSpecOptions = {
  args: ["/bin/sh", "-c", "true"],
  env: ["PATH=/bin"],
  cwd: "/",
  user: { uid: 1001, gid: 1001, additionalGids: [29, 50], home: "/home/bob" },
  hostname: "buildkitsandbox",
  network: "host",
};

test("the spec has a new mount, pid, ipc and uts namespace, and a network one only for network none", () => {
  const host = createRuntimeSpec("/r", base);
  assert.equal(host.linux.namespaces.map((n) => n.type).sort(), ["ipc", "mount", "pid", "uts"]);
  const none = createRuntimeSpec("/r", { ...base, network: "none" });
  assert.equal(none.linux.namespaces.map((n) => n.type).sort(), ["ipc", "mount", "network", "pid", "uts"]);
});

test("the process runs as the resolved user with Docker's 14 capabilities and no new privileges", () => {
  const spec = createRuntimeSpec("/r", base);
  // The primary group first among the supplementary ones (CVE-2023-25173).
  assert.equal(spec.process.user, { uid: 1001, gid: 1001, additionalGids: [1001, 29, 50] });
  assert.is(spec.process.capabilities?.effective.length, 14);
  assert.equal(spec.process.capabilities?.bounding, [...DEFAULT_CAPABILITIES]);
  assert.not.ok(spec.process.capabilities?.bounding.includes("CAP_SYS_ADMIN"));
  assert.is(spec.process.noNewPrivileges, true);
  assert.is(spec.process.terminal, false);
});

test("the primary group is a supplementary group once, even for a user in no other group", () => {
  assert.equal(createRuntimeSpec("/r", { ...base, user: { uid: 0, gid: 0, additionalGids: [], home: "/" } }).process.user.additionalGids, [0]);
  assert.equal(createRuntimeSpec("/r", { ...base, user: { uid: 5, gid: 10, additionalGids: [10, 20], home: "/" } }).process.user.additionalGids, [10, 20]);
});

test("docker's default seccomp profile filters every sandbox, and insecure mode lifts it", () => {
  const seccomp = createRuntimeSpec("/r", base).linux.seccomp;
  assert.is(seccomp?.defaultAction, "SCMP_ACT_ERRNO");
  assert.is(seccomp?.defaultErrnoRet, 1);
  const allowed = new Set(seccomp?.syscalls.filter((rule) => rule.action === "SCMP_ACT_ALLOW" && rule.args === undefined).flatMap((rule) => rule.names));
  for (const name of ["read", "execve", "chroot", "setgroups"]) assert.ok(allowed.has(name), name);
  // Without CAP_SYS_ADMIN: no mount, unshare, setns, bpf or keyrings; clone only without namespace flags, clone3 ENOSYS.
  for (const name of ["mount", "umount2", "unshare", "setns", "bpf", "keyctl", "add_key", "init_module", "reboot", "clone", "clone3"]) assert.not.ok(allowed.has(name), name);
  const clone = seccomp?.syscalls.find((rule) => rule.names.includes("clone"));
  assert.equal(clone?.args, [{ index: 0, value: 0x7e020000, valueTwo: 0, op: "SCMP_CMP_MASKED_EQ" }]);
  assert.equal(seccomp?.syscalls.find((rule) => rule.names.includes("clone3"))?.errnoRet, 38);
  // AF_VSOCK (40) and AF_ALG (38) sockets are refused; inet ones allowed.
  const sockets = seccomp?.syscalls.filter((rule) => rule.names.includes("socket")).map((rule) => rule.args?.[0]);
  assert.equal(sockets?.[0], { index: 0, value: 12, op: "SCMP_CMP_LT" });
  assert.not.ok(sockets?.some((arg) => arg?.op === "SCMP_CMP_EQ" && (arg.value === 38 || arg.value === 40)));
  const insecure = createRuntimeSpec("/r", { ...base, insecure: { capabilities: ["CAP_SYS_ADMIN"], devices: [] } });
  assert.is(insecure.linux.seccomp, undefined);
});

test("resource limits become cgroup resources only when the sandbox has a cgroup", () => {
  const limits = { memoryBytes: 64 * 1024 * 1024, pids: 100, cpus: 0.5 };
  const without = createRuntimeSpec("/r", { ...base, limits });
  assert.is(without.linux.resources, undefined);
  const spec = createRuntimeSpec("/r", { ...base, limits, cgroupsPath: "tsbuild/x" });
  assert.is(spec.linux.cgroupsPath, "tsbuild/x");
  assert.equal(spec.linux.resources?.memory, { limit: 64 * 1024 * 1024 });
  assert.equal(spec.linux.resources?.pids, { limit: 100 });
  assert.equal(spec.linux.resources?.cpu, { period: 100000, quota: 50000 });
  assert.equal(spec.linux.resources?.devices?.[0], { allow: false, access: "rwm" });
});

test("standard mounts come first, then the caller's, in order", () => {
  const spec = createRuntimeSpec("/r", { ...base, mounts: [{ destination: "/etc/hosts", type: "bind", source: "/b/hosts", options: ["rbind", "ro"] }] });
  assert.equal(spec.mounts.map((m) => m.destination), ["/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys", "/etc/hosts"]);
  assert.ok(spec.mounts.find((m) => m.destination === "/sys")?.options?.includes("ro"));
});

test.run();
