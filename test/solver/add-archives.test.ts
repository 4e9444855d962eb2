import { execFileSync } from "node:child_process";
import { mkdir, readdir, readFile, readlink, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { isTsbuildError } from "../../errors.js";
import { build } from "../../build/build.js";
import { tarOf } from "../helpers/tar-of.js";
import { mountsUnder, withBuildRoot } from "./build-fixture.js";

/** `path type uid:gid` for everything under `dir`, sorted. */
function listing(dir: string): string[] {
  return execFileSync("find", [".", "-mindepth", "1", "-printf", "%P %y %U:%G\\n"], { cwd: dir, encoding: "utf8" }).trim().split("\n").sort();
}

test("ADD rootfs.tar.gz / keeps absolute and upward symlinks, strips leading /, and writes through links inside the image", async () => {
  await withBuildRoot(async (root) => {
    const context = join(root.dir, "ctx");
    await mkdir(context);
    const rootfs = tarOf([
      { path: "./" },
      { path: "run/" },
      { path: "var/" },
      { path: "var/run", type: "symlink", linkpath: "/run" },
      { path: "etc/" },
      { path: "etc/link", type: "symlink", linkpath: "../tmp/target" },
      { path: "/etc/hostname", body: "box\n" },
      { path: "var/run/pidfile", body: "1\n" },
    ]);
    await writeFile(join(context, "rootfs.tar.gz"), gzipSync(rootfs));
    await writeFile(join(context, "Dockerfile"), "FROM scratch\nADD rootfs.tar.gz /\nCOPY Dockerfile /etc/link/\n");
    const out = join(root.dir, "out");
    await build({ context, worker: root.worker, output: { type: "local", dest: out } });
    assert.is(await readlink(join(out, "var/run")), "/run");
    assert.is(await readlink(join(out, "etc/link")), "../tmp/target");
    assert.is(await readFile(join(out, "etc/hostname"), "utf8"), "box\n", "the leading / is dropped");
    assert.is(await readFile(join(out, "run/pidfile"), "utf8"), "1\n", "written through var/run -> /run inside the image");
    assert.match(await readFile(join(out, "tmp/target/Dockerfile"), "utf8"), "ADD rootfs.tar.gz", "a later step writes through the link inside the image");
  });
});

test("ADD --chown owns every extracted entry, --chmod leaves their modes (BuildKit's unpack takes no mode); bzip2, xz and zstd unpack too", async () => {
  await withBuildRoot(async (root) => {
    const context = join(root.dir, "ctx");
    await mkdir(context);
    const plain = join(context, "a.tar");
    await writeFile(plain, tarOf([{ path: "d/", uid: 5, gid: 6 }, { path: "d/f", body: "x", uid: 5, gid: 6 }]));
    for (const program of ["bzip2", "xz", "zstd"]) execFileSync(program, ["-k", "-q", plain]);
    await writeFile(
      join(context, "Dockerfile"),
      "FROM scratch\nADD --chown=100:200 a.tar /owned/\nADD a.tar /kept/\nADD --chmod=600 a.tar /modes/\nADD a.tar.bz2 /bz2/\nADD a.tar.xz /xz/\nADD a.tar.zst /zst/\n",
    );
    const out = join(root.dir, "out");
    await build({ context, worker: root.worker, output: { type: "local", dest: out } });
    const all = listing(out);
    assert.equal(all.filter((line) => line.startsWith("owned")), ["owned d 100:200", "owned/d d 100:200", "owned/d/f f 100:200"]);
    assert.equal(all.filter((line) => line.startsWith("kept")), ["kept d 0:0", "kept/d d 5:6", "kept/d/f f 5:6"]);
    for (const dir of ["bz2", "xz", "zst"]) assert.is(await readFile(join(out, dir, "d/f"), "utf8"), "x", dir);
    assert.is(((await stat(join(out, "modes/d/f"))).mode & 0o7777).toString(8), "644", "the archive's mode, not --chmod's");
  });
});

test("ADD of a truncated tar fails with one clear INVALID_ARCHIVE error and leaves no mount behind", async () => {
  await withBuildRoot(async (root) => {
    const context = join(root.dir, "ctx");
    await mkdir(context);
    await writeFile(join(context, "cut.tar"), tarOf([{ path: "big", body: "y".repeat(5000) }]).subarray(0, 1536));
    await writeFile(join(context, "Dockerfile"), "FROM busybox\nADD cut.tar /x/\n");
    const error = await build({ context, worker: root.worker }).catch((e: unknown) => e);
    assert.ok(isTsbuildError(error), String(error));
    assert.is((error as Error).message.split("\n").length, 1);
    assert.match((error as Error).message, /Cannot unpack "cut\.tar" into "\/x\/": the archive is truncated/);
    assert.ok(isTsbuildError((error as Error).cause, "INVALID_ARCHIVE"), "the cause keeps its code");
    assert.equal(await mountsUnder(root.dir), []);
    assert.equal((await readdir(join(root.dir, "tmp"))).filter((name) => name.startsWith("build-")), [], "no build scratch left");
  });
});

test.run();
