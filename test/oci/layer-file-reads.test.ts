import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { TsbuildError } from "../../errors.js";
import { writeLayer, type LayerEntryIndex, type LayerWriteEntry } from "../../oci/layer-writer.js";
import { overlayChanges } from "../../snapshotter/layer-changes.js";

const MiB = 1024 * 1024;

async function withDir(run: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "tsb-layer-reads-"));
  try {
    await run(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function rejectsWith(promise: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  try {
    await promise;
  } catch (error) {
    assert.instance(error, TsbuildError);
    assert.is((error as TsbuildError).code, code);
    assert.match((error as Error).message, message);
    return;
  }
  assert.unreachable("expected a rejection");
}

test("files of every size, read ahead in pieces and side by side, come out whole and in archive order", async () => {
  await withDir(async (dir) => {
    const tree = join(dir, "tree");
    await mkdir(join(tree, "many"), { recursive: true });
    // Around the 1 MiB piece size, and more small files than reads kept under way at once.
    const sizes = [0, 1, 511, 512, 513, MiB - 1, MiB, MiB + 1, 3 * MiB + 5, 9 * MiB];
    for (const [i, size] of sizes.entries()) await writeFile(join(tree, `s${String(i).padStart(2, "0")}`), randomBytes(size));
    for (let i = 0; i < 150; i++) await writeFile(join(tree, "many", `f${String(i).padStart(3, "0")}`), randomBytes(1000 + i * 37));
    const layer = join(dir, "layer.tar");
    await writeLayer(overlayChanges(tree), layer, { compression: "none", sourceDateEpoch: null });

    const listing = execFileSync("tar", ["-tf", layer], { encoding: "utf8" }).trim().split("\n");
    assert.equal(listing, ["many/", ...Array.from({ length: 150 }, (_, i) => `many/f${String(i).padStart(3, "0")}`), ...sizes.map((_, i) => `s${String(i).padStart(2, "0")}`)]);
    const out = join(dir, "out");
    await mkdir(out);
    execFileSync("tar", ["-C", out, "-xf", layer]);
    for (const name of listing.filter((path) => !path.endsWith("/"))) {
      assert.ok((await readFile(join(out, name))).equals(await readFile(join(tree, name))), `${name} has its bytes`);
    }
  });
});

test("a file whose size is not its entry's is a CONFLICT, small or read in pieces, shorter or longer", async () => {
  await withDir(async (dir) => {
    for (const [actual, announced] of [[100, 99], [100, 101], [3 * MiB, 3 * MiB - 1], [3 * MiB, 3 * MiB + 1], [2 * MiB, 5 * MiB]]) {
      const file = join(dir, `f${actual}-${announced}`);
      await writeFile(file, Buffer.alloc(actual, 7));
      const entries: LayerWriteEntry[] = [{ path: "f", type: "file", mode: 0o644, uid: 0, gid: 0, mtime: 1, size: announced, sourcePath: file }];
      await rejectsWith(writeLayer(entries, join(dir, "layer.tar"), { compression: "none" }), "CONFLICT", /Cannot write layer entry "f": the file changed size while being read/);
    }
  });
});

test("entries reused from an earlier layer shorter than its index says fail with CONFLICT, not a short layer", async () => {
  await withDir(async (dir) => {
    const tree = join(dir, "tree");
    await mkdir(tree);
    for (let i = 0; i < 5; i++) await writeFile(join(tree, `f${i}`), randomBytes(MiB));
    const first = join(dir, "first.tar");
    const written = await writeLayer(overlayChanges(tree), first, { compression: "none", sourceDateEpoch: null, index: true });
    await truncate(first, 2 * MiB);
    const entries = new Map((written.index as LayerEntryIndex[]).map((entry) => [entry.path, entry]));
    const again = writeLayer(overlayChanges(tree), join(dir, "second.tar"), { compression: "none", sourceDateEpoch: null, reuse: { source: first, entries } });
    await rejectsWith(again, "CONFLICT", /shorter than its index says/);
  });
});

test.run();
