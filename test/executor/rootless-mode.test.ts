import { chmod, chown, mkdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { isTsbuildError } from "../../errors.js";
import { ensurePrivateDir, rootlessRuntimeDir, runtimeStateRoot } from "../../executor/rootless-mode.js";
import { withTempDir } from "../store/temp-dir.js";

test("runtime state goes to $XDG_RUNTIME_DIR/tsbuild, else to /tmp/tsbuild-run-<uid> as podman's does", () => {
  assert.is(rootlessRuntimeDir({ XDG_RUNTIME_DIR: "/run/user/1001" }, 1001), "/run/user/1001/tsbuild");
  assert.is(rootlessRuntimeDir({}, 1001), "/tmp/tsbuild-run-1001");
  assert.is(rootlessRuntimeDir({ XDG_RUNTIME_DIR: "relative" }, 1001), "/tmp/tsbuild-run-1001");
});

test("a rootful root keeps its runtime state inside; a rootless one in the user's runtime directory, one per root", () => {
  assert.is(runtimeStateRoot("/var/lib/tsbuild", {}), "/var/lib/tsbuild/runtime");
  const a = runtimeStateRoot("/home/u/.local/share/tsbuild", { TSBUILD_ROOTLESS: "/run/user/1001/tsbuild" });
  const b = runtimeStateRoot("/tmp/other", { TSBUILD_ROOTLESS: "/run/user/1001/tsbuild" });
  assert.match(a, /^\/run\/user\/1001\/tsbuild\/runtime-[0-9a-f]{16}$/);
  assert.is.not(a, b);
});

test("ensurePrivateDir makes a 0700 directory and refuses one another user made, or one others may write", async () => {
  await withTempDir(async (dir) => {
    const own = join(dir, "a", "run");
    await ensurePrivateDir(own, process.getuid!());
    assert.is((await stat(own)).mode & 0o777, 0o700);
    await ensurePrivateDir(own, process.getuid!());

    const foreign = join(dir, "foreign");
    await mkdir(foreign, { mode: 0o700 });
    await chown(foreign, 4242, 4242);
    const refused = await ensurePrivateDir(foreign, process.getuid!()).then(() => undefined, (error: unknown) => error);
    assert.ok(isTsbuildError(refused, "ROOTLESS"));
    assert.match((refused as Error).message, /is not a private directory of uid/);

    const open = join(dir, "open");
    await mkdir(open);
    await chmod(open, 0o777);
    assert.ok(isTsbuildError(await ensurePrivateDir(open, process.getuid!()).then(() => undefined, (error: unknown) => error), "ROOTLESS"));
  });
});

test.run();
