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
  assert.equal(spec.process.user, { uid: 1001, gid: 1001, additionalGids: [29, 50] });
  assert.is(spec.process.capabilities?.effective.length, 14);
  assert.equal(spec.process.capabilities?.bounding, [...DEFAULT_CAPABILITIES]);
  assert.not.ok(spec.process.capabilities?.bounding.includes("CAP_SYS_ADMIN"));
  assert.is(spec.process.noNewPrivileges, true);
  assert.is(spec.process.terminal, false);
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
