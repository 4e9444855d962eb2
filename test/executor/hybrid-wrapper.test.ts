import { execFileSync, spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { detectCgroupMode, HYBRID_CGROUP2_MOUNT } from "../../executor/cgroup-mode.js";
import { OciRuntime } from "../../executor/oci-runtime.js";
import { packageFile } from "../../util/package-file.js";

// crun on a hybrid cgroup host runs through the wrapper the build compiles
// (executor/hybrid-wrapper.c); setup.sh installs the compiler, so it is there in CI.
const wrapper = packageFile("dist/executor/hybrid-wrapper");

test("the compiled wrapper runs a program in a private mount namespace without the given mount, and leaves the host's alone", async () => {
  const target = await mkdtemp(join(tmpdir(), "tsbuild-hybrid-wrapper-"));
  execFileSync("mount", ["-t", "tmpfs", "-o", "size=1m", "tsbuild-test", target]);
  try {
    const mounted = (text: string) => text.split("\n").some((line) => line.split(" ")[4] === target);
    assert.ok(mounted(await readFile("/proc/self/mountinfo", "utf8")), "mounted here");
    const inside = execFileSync(wrapper, [target, "/bin/cat", "/proc/self/mountinfo"], { encoding: "utf8" });
    assert.not.ok(mounted(inside), "gone inside");
    assert.ok(mounted(await readFile("/proc/self/mountinfo", "utf8")), "still mounted outside");
    const missing = spawnSync(wrapper, [target, "/nonexistent/runtime"], { encoding: "utf8" });
    assert.is(missing.status, 127);
    assert.match(missing.stderr, "cannot run /nonexistent/runtime");
  } finally {
    execFileSync("umount", [target]);
    await rm(target, { recursive: true, force: true });
  }
});

test("on a hybrid host crun's command line is the compiled wrapper's, and it runs", async () => {
  const runtime = new OciRuntime({ name: "crun", path: "/usr/bin/crun", stateDir: "/nonexistent-state", hybridWrapper: true });
  const { file, args } = runtime.command(["--version"]);
  assert.is(file, wrapper);
  assert.equal(args.slice(0, 2), [HYBRID_CGROUP2_MOUNT, "/usr/bin/crun"]);
  if ((await detectCgroupMode()) !== "hybrid") return; // crun --version needs no cgroups; the run below is for hybrid hosts
  const version = execFileSync(file, args, { encoding: "utf8" });
  assert.match(version, /^crun version/);
});

test("a build's runtime runs from the system helper's sealed copy once it is ready, so it does not copy itself", async () => {
  const hybrid = (await detectCgroupMode()) === "hybrid";
  const runtime = new OciRuntime({ name: "crun", path: "/usr/bin/crun", stateDir: "/nonexistent-state", hybridWrapper: hybrid });
  runtime.preferSealedCopy();
  await runtime.ready();
  const { file, args } = runtime.command(["--version"]);
  assert.match(hybrid ? args[1] : file, /^\/proc\/\d+\/fd\/\d+$/);
  const traced = spawnSync("strace", ["-f", "-qq", "-e", "trace=memfd_create,execveat", file, ...args], { encoding: "utf8" });
  assert.is(traced.status, 0, traced.stderr);
  assert.match(traced.stdout, /^crun version/);
  assert.not.match(traced.stderr, /memfd_create|execveat/, "crun found itself sealed and did not copy itself");
});

test.run();
