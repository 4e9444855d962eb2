import { chmod, mkdir, mkdtemp, rmdir, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createSnapshotter } from "../../snapshotter/create-snapshotter.js";
import type { SnapshotterName } from "../../snapshotter/types.js";
import type { LayerWriteResult } from "../../oci/layer-writer.js";
import { cleanupRoot, makeRoot } from "./tree-fixtures.js";

test("overlayfs and native snapshotters write byte-identical layers for the same new tree", async () => {
  const results: LayerWriteResult[] = [];
  for (const implementation of ["overlayfs", "native"] as SnapshotterName[]) {
    const root = await makeRoot();
    try {
      const snapshotter = await createSnapshotter(root, { implementation });
      await snapshotter.prepare("a");
      const target = await mkdtemp(join(root, "mnt-"));
      await snapshotter.mount("a", target);
      try {
        await mkdir(join(target, "bin"));
        await writeFile(join(target, "bin/tool"), "#!/bin/sh\necho hi\n");
        await chmod(join(target, "bin/tool"), 0o4755);
        await symlink("bin/tool", join(target, "tool"));
        await writeFile(join(target, "zz"), Buffer.alloc(70_000, 1));
      } finally {
        await snapshotter.unmount(target);
        await rmdir(target);
      }
      results.push(await snapshotter.diff("a", join(root, "layer.tgz"), { sourceDateEpoch: 1_700_000_000 }));
    } finally {
      await cleanupRoot(root);
    }
  }
  assert.is(results[0].digest, results[1].digest);
  assert.is(results[0].diffId, results[1].diffId);
});

test.run();
