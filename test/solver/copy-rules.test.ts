import { execFileSync } from "node:child_process";
import { chmod, mkdir, readFile, readlink, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { build } from "../../build/build.js";
import { withBuildRoot } from "./build-fixture.js";

/** `path type mode uid:gid` for everything under `dir`, sorted. */
function listing(dir: string): string[] {
  return execFileSync("find", [".", "-mindepth", "1", "-printf", "%P %y %m %U:%G\\n"], { cwd: dir, encoding: "utf8" })
    .trim()
    .split("\n")
    .sort();
}

test("COPY and ADD follow Docker's rules for directories, globs, renames, several sources, modes, symlinks and archives", async () => {
  await withBuildRoot(async (root) => {
    const context = await root.fixture("copy-rules");
    const out = join(root.dir, "out");
    await build({ context, worker: root.worker, output: { type: "local", dest: out } });
    const under = (prefix: string) => listing(out).filter((line) => line.startsWith(prefix));

    assert.equal(under("all"), [
      "all d 755 0:0",
      "all/.dockerignore f 644 0:0",
      "all/Dockerfile f 644 0:0",
      "all/archive.tar.gz f 644 0:0",
      "all/dir d 755 0:0",
      "all/dir/nested d 755 0:0",
      "all/dir/nested/deep.txt f 644 0:0",
      "all/dir/top.md f 644 0:0",
      "all/link-to-one l 777 0:0",
      "all/one.txt f 644 0:0",
      "all/two.txt f 644 0:0",
    ], "COPY . copies the context's contents, without what .dockerignore names");
    assert.is(await readlink(join(out, "all/link-to-one")), "one.txt", "a symlink inside a copied directory stays a symlink");
    assert.equal(under("globbed"), ["globbed d 755 0:0", "globbed/one.txt f 644 0:0", "globbed/two.txt f 644 0:0"]);
    assert.equal(under("renamed"), ["renamed.txt f 644 0:0"]);
    assert.equal(under("into-dir"), ["into-dir d 755 0:0", "into-dir/nested d 755 0:0", "into-dir/nested/deep.txt f 644 0:0", "into-dir/top.md f 644 0:0"]);
    assert.equal(under("multi"), ["multi d 755 0:0", "multi/one.txt f 644 0:0", "multi/two.txt f 644 0:0"]);
    assert.equal(under("modes/"), ["modes/octal f 600 0:0", "modes/symbolic f 700 0:0"]);
    assert.equal(under("links"), ["links d 755 0:0", "links/link-to-one f 644 0:0"], "a symlink named as the source is followed");
    assert.is(await readFile(join(out, "links/link-to-one"), "utf8"), "one\n");
    assert.equal(under("unpacked"), ["unpacked d 755 0:0", "unpacked/pkg d 755 0:0", "unpacked/pkg/packed.txt f 644 0:0"], "ADD unpacks a local tar.gz");
    assert.is(await readFile(join(out, "unpacked/pkg/packed.txt"), "utf8"), "packed\n");
    assert.equal(under("added"), ["added d 755 0:0", "added/one.txt f 644 0:0"]);
    assert.equal(under("work"), ["work d 755 0:0", "work/sub d 755 0:0"]);
  });
});

test("COPY --parents keeps the matched paths' directories and --exclude leaves matches out", async () => {
  await withBuildRoot(async (root) => {
    const context = await root.fixture("copy-parents");
    const out = join(root.dir, "out");
    await build({ context, worker: root.worker, output: { type: "local", dest: out } });
    const under = (prefix: string) => listing(out).filter((line) => line.startsWith(prefix));
    assert.equal(under("dest"), ["dest d 755 0:0", "dest/a d 755 0:0", "dest/a/b d 755 0:0", "dest/a/b/c.txt f 644 0:0", "dest/x d 755 0:0", "dest/x/1.txt f 644 0:0"]);
    assert.equal(under("x"), ["x d 755 0:0", "x/keep.txt f 644 0:0"]);
  });
});

test("COPY --parents of a path that does not exist fails before anything runs", async () => {
  await withBuildRoot(async (root) => {
    const context = await root.fixture("copy-parents");
    await writeFile(join(context, "Dockerfile"), "FROM busybox\nRUN true\nCOPY --parents a/missing.txt /dest/\n");
    const error = await build({ context, worker: root.worker }).catch((e: unknown) => e);
    assert.match(String(error), 'failed to calculate checksum of ref context: "/a/missing.txt": not found: no such file or directory in the build context');
    assert.is(root.runs(), 0);
  });
});

test("COPY --link keeps its layer when the base changes: the files are not copied again", async () => {
  await withBuildRoot(async (root) => {
    const context = join(root.dir, "link");
    const other = join(root.dir, "other-base");
    await mkdir(context);
    await mkdir(other);
    await writeFile(join(context, "one.txt"), "one\n");
    await writeFile(join(context, "Dockerfile"), "FROM base:1\nCOPY --link one.txt /linked/\nRUN cat /linked/one.txt /base.txt > /both.txt\n");
    await writeFile(join(other, "Dockerfile"), "FROM busybox\nARG V\nRUN echo $V > /base.txt\n");
    await build({ context: other, worker: root.worker, tags: ["base:1"], buildArgs: { V: "first" } });
    const first = await build({ context, worker: root.worker, output: { type: "local", dest: join(root.dir, "out1") } });
    await build({ context: other, worker: root.worker, tags: ["base:1"], buildArgs: { V: "second" } });
    const linkRecords = async () => (await root.worker.store.refs.list("cache")).filter((record) => record.labels?.["tsbuild.vertex"]?.includes("COPY --link"));
    const before = (await linkRecords()).map((record) => `${record.id} ${record.updatedAt}`);
    assert.is(before.length, 2, "the linked layer's record and the step's");
    const second = await build({ context, worker: root.worker, output: { type: "local", dest: join(root.dir, "out2") } });
    const after = (await linkRecords()).map((record) => `${record.id} ${record.updatedAt}`);
    assert.is(after.length, 3, "one more record: the step over the new base");
    assert.ok(before.every((line) => after.includes(line)), "the linked layer's record was not rewritten: nothing was copied again");

    const linkLayer = (result: typeof first) => result.config.rootfs.diff_ids[result.config.rootfs.diff_ids.length - 2];
    assert.is(linkLayer(second), linkLayer(first), "the same layer over a different base");
    assert.is(await readFile(join(root.dir, "out2/both.txt"), "utf8"), "one\nsecond\n");
    assert.is(await readFile(join(root.dir, "out1/both.txt"), "utf8"), "one\nfirst\n");
  });
});

test.run();

test("COPY of two directories into one keeps the later file over the earlier one, and set-id bits survive --chown", async () => {
  await withBuildRoot(async (root) => {
    const context = join(root.dir, "two-dirs");
    for (const [dir, text] of [["a", "from a\n"], ["b", "from b\n"]]) {
      await mkdir(join(context, dir, "sub"), { recursive: true });
      await writeFile(join(context, dir, "sub", "x"), text);
    }
    await writeFile(join(context, "a", "sub", "y"), "a file\n");
    await symlink("x", join(context, "b", "sub", "y"));
    await chmod(join(context, "a", "sub", "x"), 0o4755);
    await writeFile(join(context, "Dockerfile"), "FROM scratch\nCOPY a b /both/\nCOPY --chown=1:2 a /owned/\n");
    const out = join(root.dir, "out");
    await build({ context, worker: root.worker, output: { type: "local", dest: out } });
    assert.is(await readFile(join(out, "both/sub/x"), "utf8"), "from b\n", "the second source's file replaces the first's");
    assert.is(await readlink(join(out, "both/sub/y")), "x", "a symlink replaces a file of the same name");
    assert.equal(listing(join(out, "owned")), ["sub d 755 1:2", "sub/x f 4755 1:2", "sub/y f 644 1:2"]);
  });
});
