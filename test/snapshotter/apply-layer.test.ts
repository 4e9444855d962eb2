import { mkdtemp, readdir, rmdir } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { isTsbuildError } from "../../errors.js";
import { encodeTarHeader, endOfArchive, paddingFor, type TarHeader } from "../../oci/layer-tar-header.js";
import { createSnapshotter } from "../../snapshotter/create-snapshotter.js";
import type { Snapshotter, SnapshotterName } from "../../snapshotter/types.js";
import { cleanupRoot, describeTree, makeRoot, mountsUnder } from "./tree-fixtures.js";

type Spec = Partial<TarHeader> & { path: string; body?: string };

function tarOf(entries: Spec[]): Readable {
  const parts: Buffer[] = [];
  for (const spec of entries) {
    const body = Buffer.from(spec.body ?? "");
    const type = spec.type ?? (spec.path.endsWith("/") ? "directory" : "file");
    const path = spec.path.replace(/\/$/, "");
    const mode = spec.mode ?? (type === "directory" ? 0o755 : 0o644);
    const fields = { mode, uid: 0, gid: 0, mtime: 1, linkpath: "", devmajor: 0, devminor: 0, xattrs: new Map(), ...spec, path, type };
    parts.push(encodeTarHeader({ ...fields, size: type === "file" ? body.length : 0 }));
    if (type === "file" && body.length > 0) parts.push(body, paddingFor(body.length));
  }
  return Readable.from([Buffer.concat([...parts, endOfArchive()])]);
}

for (const implementation of ["overlayfs", "native"] as SnapshotterName[]) {
  const test = suite(`applying layers (${implementation})`);

  /** Applies the layers as a chain and returns the top's tree, one "path kind" line each. */
  async function treeAfter(layers: Spec[][]): Promise<string[]> {
    const root = await makeRoot();
    try {
      const snapshotter = await createSnapshotter(root, { implementation });
      let parent: string | undefined;
      for (const [i, layer] of layers.entries()) {
        await snapshotter.apply(`l${i}`, tarOf(layer), parent === undefined ? {} : { parent });
        parent = `l${i}`;
      }
      return await look(snapshotter, parent!);
    } finally {
      await cleanupRoot(root);
    }
  }

  async function look(snapshotter: Snapshotter, parent: string): Promise<string[]> {
    await snapshotter.prepare("look", parent);
    const target = await mkdtemp(join(snapshotter.root, "mnt-"));
    await snapshotter.mount("look", target);
    try {
      return (await describeTree(target)).map((line) => line.split(" ").slice(0, 2).join(" ").replace(/:[0-9a-f]{12}$/, ""));
    } finally {
      await snapshotter.unmount(target);
      await rmdir(target);
      assert.equal(await mountsUnder(snapshotter.root), []);
    }
  }

  const lower: Spec[] = [{ path: "d/" }, { path: "d/old", body: "old" }, { path: "d/sub/" }, { path: "d/sub/older", body: "x" }, { path: "f", body: "f" }];

  test("an opaque marker after the directory's own entries keeps them and hides the lower ones", async () => {
    const tree = await treeAfter([lower, [{ path: "d/" }, { path: "d/new", body: "n" }, { path: "d/.wh..wh..opq" }]]);
    assert.equal(tree, ["d dir", "d/new file:1", "f file:1"]);
  });

  test("a whiteout followed by a directory of the same name gives a fresh empty directory", async () => {
    const tree = await treeAfter([lower, [{ path: ".wh.d" }, { path: "d/" }]]);
    assert.equal(tree, ["d dir", "f file:1"]);
  });

  test("whiteouts of missing paths and aufs bookkeeping names change nothing", async () => {
    const tree = await treeAfter([lower, [{ path: ".wh.nothing" }, { path: "missing/.wh.x" }, { path: ".wh..wh.plnk/" }, { path: "d/.wh.old" }]]);
    assert.equal(tree, ["d dir", "d/sub dir", "d/sub/older file:1", "f file:1"]);
  });

  test("a layer's own entries survive its own whiteouts", async () => {
    const tree = await treeAfter([[{ path: "a", body: "1" }, { path: ".wh.a" }]]);
    assert.equal(tree, ["a file:1"]);
  });

  test("a hard link to a file of a lower layer links a copy in the new layer", async () => {
    const tree = await treeAfter([lower, [{ path: "link-to-old", type: "hardlink", linkpath: "d/old" }]]);
    assert.equal(tree, ["d dir", "d/old file:3", "d/sub dir", "d/sub/older file:1", "f file:1", "link-to-old file:3"]);
  });

  test("a relative symlink inside the tree is followed: lib -> usr/lib, then lib/x lands in usr/lib", async () => {
    const tree = await treeAfter([[{ path: "usr/" }, { path: "usr/lib/" }, { path: "lib", type: "symlink", linkpath: "usr/lib" }], [{ path: "lib/x", body: "xx" }]]);
    assert.equal(tree, ["lib link->usr/lib", "usr dir", "usr/lib dir", "usr/lib/x file:2"]);
  });

  test("a file replaces a lower directory and a directory replaces a lower file", async () => {
    const tree = await treeAfter([lower, [{ path: "d", body: "now a file" }, { path: "f/" }, { path: "f/inside", body: "i" }]]);
    assert.equal(tree, ["d file:10", "f dir", "f/inside file:1"]);
  });

  test("an entry replaced later in the same layer leaves no pending capability, time or opaque mark behind", async () => {
    const capability = new Map([["security.capability", Buffer.from("0100000200200000000000000000000000000000", "hex")]]);
    const tree = await treeAfter([
      lower,
      [
        { path: "c", body: "cap", xattrs: capability },
        { path: "c", type: "symlink", linkpath: "f" },
        { path: "d/" },
        { path: "d/.wh..wh..opq" },
        { path: "d/inner/" },
        { path: "d", body: "now a file" },
      ],
    ]);
    assert.equal(tree, ["c link->f", "d file:10", "f file:1"]);
  });

  test("a layer whose content is not the expected diffID is removed with DIGEST_MISMATCH", async () => {
    const root = await makeRoot();
    try {
      const snapshotter = await createSnapshotter(root, { implementation });
      const before = await readdir(join(root, "snapshots"));
      const wrong = `sha256:${"0".repeat(64)}` as const;
      let caught: unknown;
      await snapshotter.apply("x", tarOf([{ path: "a", body: "a" }]), { expectedDiffId: wrong }).catch((error: unknown) => (caught = error));
      assert.ok(isTsbuildError(caught, "DIGEST_MISMATCH"), String(caught));
      assert.match((caught as Error).message, `not "${wrong}"`);
      const numbered = (names: string[]) => names.filter((name) => /^\d+$/.test(name)).sort();
      assert.equal(numbered(await readdir(join(root, "snapshots"))), numbered(before), "no snapshot directory is left");
      await snapshotter.walk(() => assert.unreachable("no snapshot is recorded"));
    } finally {
      await cleanupRoot(root);
    }
  });

  test.run();
}
