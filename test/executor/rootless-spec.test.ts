import { test } from "uvu";
import * as assert from "uvu/assert";
import { isTsbuildError } from "../../errors.js";
import { createRuntimeSpec, type CreateRuntimeSpecOptions } from "../../executor/create-runtime-spec.js";
import { parseIdMap, type IdMapping } from "../../util/id-mapping.js";

const identity: IdMapping = { uids: parseIdMap("0 0 4294967295"), gids: parseIdMap("0 0 4294967295") };
const ranged: IdMapping = { uids: parseIdMap("0 1001 1\n1 100000 65536"), gids: parseIdMap("0 1001 1\n1 100000 65536") };
const single: IdMapping = { uids: parseIdMap("0 1001 1"), gids: parseIdMap("0 1001 1") };

const base: CreateRuntimeSpecOptions = {
  args: ["/bin/sh"],
  env: ["PATH=/bin"],
  cwd: "/",
  user: { uid: 1001, gid: 1001, additionalGids: [29, 70000], home: "/home/bob" },
  hostname: "buildkitsandbox",
  network: "host",
};

const sys = (spec: ReturnType<typeof createRuntimeSpec>) => spec.mounts.find((m) => m.destination === "/sys");
const devpts = (spec: ReturnType<typeof createRuntimeSpec>) => spec.mounts.find((m) => m.type === "devpts");

test("rootful, the spec is the sandbox's as ever: sysfs, devpts with gid 5, every group", () => {
  const spec = createRuntimeSpec("/r", { ...base, idMapping: identity });
  assert.is(sys(spec)?.type, "sysfs");
  assert.ok(devpts(spec)?.options?.includes("gid=5"));
  assert.equal(spec.process.user.additionalGids, [1001, 29, 70000]);
});

test("rootless on the host's network, /sys is the host's bound read-only (rw for insecure); on a network of its own, sysfs", () => {
  const host = createRuntimeSpec("/r", { ...base, idMapping: ranged });
  assert.equal(sys(host), { destination: "/sys", type: "none", source: "/sys", options: ["rbind", "nosuid", "noexec", "nodev", "ro"] });
  const insecure = createRuntimeSpec("/r", { ...base, idMapping: ranged, insecure: { capabilities: ["CAP_SYS_ADMIN"], devices: [{ path: "/dev/fuse", type: "c", major: 10, minor: 229 }] } });
  assert.equal(sys(insecure)?.options?.at(-1), "rw");
  assert.is(insecure.linux.devices, undefined, "a user namespace cannot make device nodes");
  assert.is(sys(createRuntimeSpec("/r", { ...base, network: "none", idMapping: ranged }))?.type, "sysfs");
  assert.is(sys(createRuntimeSpec("/r", { ...base, network: { namespacePath: "/proc/9/ns/net" }, idMapping: ranged }))?.type, "sysfs");
});

test("rootless, supplementary groups the namespace does not map are dropped; with one gid there are none", () => {
  assert.equal(createRuntimeSpec("/r", { ...base, idMapping: ranged }).process.user.additionalGids, [1001, 29]);
  const spec = createRuntimeSpec("/r", { ...base, user: { uid: 0, gid: 0, additionalGids: [0], home: "/root" }, idMapping: single });
  assert.equal(spec.process.user.additionalGids, []);
  assert.not.ok(devpts(spec)?.options?.includes("gid=5"), "gid 5 is not mapped");
  assert.ok(devpts(createRuntimeSpec("/r", { ...base, idMapping: ranged }))?.options?.includes("gid=5"));
});

test("rootless, a process owner the namespace does not map is an error naming /etc/subuid and /etc/subgid", () => {
  try {
    createRuntimeSpec("/r", { ...base, idMapping: single });
    assert.unreachable("an unmapped uid must not reach the runtime");
  } catch (error) {
    assert.ok(isTsbuildError(error, "ROOTLESS"));
    assert.is((error as Error).message, "Cannot run a process as 1001:1001 rootless: uid 1001 is not mapped, as this user has no ranges in /etc/subuid and /etc/subgid");
  }
});

test.run();
