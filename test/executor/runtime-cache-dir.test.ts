import { lstat } from "node:fs/promises";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { runtimeCacheDir } from "../../executor/runtime-cache-dir.js";
import { inUserNamespace } from "../../util/id-mapping.js";

test("root keeps probes and seccomp programs once per boot in a directory only root can write; others under the root", async () => {
  const dir = await runtimeCacheDir("/some/root");
  if (process.getuid?.() === 0 && !inUserNamespace()) {
    assert.is(dir, "/run/tsbuild/runtime-cache");
    const info = await lstat(dir);
    assert.ok(info.isDirectory());
    assert.is(info.uid, 0);
    assert.is(info.mode & 0o022, 0);
  } else {
    assert.is(dir, join("/some/root", "runtime"));
  }
});

test.run();
