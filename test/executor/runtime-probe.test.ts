import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { isTsbuildError, TsbuildError } from "../../errors.js";
import { detectCgroupMode } from "../../executor/cgroup-mode.js";
import { Executor } from "../../executor/executor.js";
import { detectDefaultRuntime, probeRuntimes } from "../../executor/runtime-probe.js";

const LINE = (id: number, mountPoint: string, fsType: string) => `${id} 23 0:${id} / ${mountPoint} rw,relatime - ${fsType} ${fsType} rw`;

test("detectCgroupMode tells v1, v2 and hybrid layouts apart", async () => {
  const dir = await mkdtemp(join(tmpdir(), "tsbuild-cgroup-test-"));
  try {
    const layouts: Record<string, string[]> = {
      v2: [LINE(1, "/sys/fs/cgroup", "cgroup2")],
      v1: [LINE(1, "/sys/fs/cgroup", "tmpfs"), LINE(2, "/sys/fs/cgroup/cpu", "cgroup")],
      hybrid: [LINE(1, "/sys/fs/cgroup", "tmpfs"), LINE(2, "/sys/fs/cgroup/cpu", "cgroup"), LINE(3, "/sys/fs/cgroup/unified", "cgroup2")],
      none: [LINE(1, "/", "ext4")],
    };
    for (const [mode, lines] of Object.entries(layouts)) {
      const path = join(dir, mode);
      await writeFile(path, lines.join("\n") + "\n");
      assert.is(await detectCgroupMode(path), mode);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("both runtimes work here; crun only through the wrapper when the host is hybrid", async () => {
  const hybrid = (await detectCgroupMode()) === "hybrid";
  const [runc, crun] = await probeRuntimes();
  assert.is(runc.name, "runc");
  assert.ok(runc.usable, runc.reason);
  assert.is(runc.hybridWrapper, false);
  assert.match(runc.version ?? "", /^runc version/);
  assert.is(crun.name, "crun");
  assert.ok(crun.usable, crun.reason);
  assert.is(crun.hybridWrapper, hybrid);
  assert.ok(runc.cgroups && crun.cgroups, "as root here, both can place sandboxes in cgroups");
  assert.is((await detectDefaultRuntime()).name, "runc", "runc is preferred, as in BuildKit");
});

test("a runtime that is not installed is reported with what to install", async () => {
  const [probe] = await probeRuntimes({ names: ["runc"], paths: { runc: "/nonexistent/bin/runc" } });
  assert.is(probe.usable, false);
  assert.match(probe.reason ?? "", "apt-get install runc");
  let error: unknown;
  await Executor.create({ root: "/nonexistent-root", runtime: "runc", runtimePath: "/nonexistent/bin/runc" }).catch((e) => (error = e));
  assert.ok(isTsbuildError(error, "SYSTEM"), String(error));
  assert.match((error as TsbuildError).hint ?? "", "apt-get install runc");
});

test.run();
