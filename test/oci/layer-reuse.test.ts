import { randomBytes } from "node:crypto";
import { chmod, mkdir, mkdtemp, rm, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { writeLayer, type LayerEntryIndex } from "../../oci/layer-writer.js";
import { overlayChanges } from "../../snapshotter/layer-changes.js";

test("a layer written with an earlier layer's entries reused has the bytes of one written from the files, and reuses only unchanged inodes", async () => {
  const dir = await mkdtemp(join(tmpdir(), "tsb-layer-reuse-"));
  try {
    const tree = join(dir, "tree");
    await mkdir(join(tree, "a", "b"), { recursive: true });
    // Sizes on and off the 512-byte blocks, empty files, one past the small-file read path.
    const sizes = [0, 1, 511, 512, 513, 10_000, 2 * 1024 * 1024 + 7];
    for (let i = 0; i < 40; i++) await writeFile(join(tree, i % 2 === 0 ? "a" : "a/b", `f${i}`), randomBytes(sizes[i % sizes.length]));
    const first = await writeLayer(overlayChanges(tree), join(dir, "first.tar"), { compression: "none", sourceDateEpoch: null, index: true });
    assert.ok(first.index !== undefined && first.index.length === 40);

    await writeFile(join(tree, "a", "f2"), "a new file in place of an old one\n"); // a new inode
    await unlink(join(tree, "a/b", "f3"));
    await writeFile(join(tree, "a", "added"), "added\n");
    await chmod(join(tree, "a/b", "f5"), 0o600); // the same inode, another header
    const entries = new Map((first.index as LayerEntryIndex[]).map((entry) => [entry.path, entry]));
    const reused = await writeLayer(overlayChanges(tree), join(dir, "reused.tar"), { compression: "none", sourceDateEpoch: null, reuse: { source: join(dir, "first.tar"), entries } });
    const full = await writeLayer(overlayChanges(tree), join(dir, "full.tar"), { compression: "none", sourceDateEpoch: null });
    assert.is(reused.diffId, full.diffId);
    assert.is(reused.uncompressedSize, full.uncompressedSize);
    const unchanged = [...entries.values()].filter((entry) => !["a/f2", "a/b/f3", "a/b/f5"].includes(entry.path));
    assert.is(reused.reusedBytes, unchanged.reduce((sum, entry) => sum + entry.length, 0), "every unchanged file's entry, and only those, came from the first layer");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
