import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { isTsbuildError } from "../../errors.js";
import { isTarArchive } from "../../oci/is-tar-archive.js";
import { extractArchive } from "../../snapshotter/extract-archive.js";
import { tarOf } from "../helpers/tar-of.js";

/** Runs `fn` with a scratch directory holding `root/` (the destination) and `outside/`. */
async function withDirs(fn: (dirs: { base: string; root: string; outside: string }) => Promise<void>): Promise<void> {
  const base = await mkdtemp(join(tmpdir(), "tsb-extract-"));
  try {
    await mkdir(join(base, "root"));
    await mkdir(join(base, "outside"));
    await fn({ base, root: join(base, "root"), outside: join(base, "outside") });
  } finally {
    await rm(base, { recursive: true, force: true });
  }
}

/** `path type uid:gid` for everything under `dir`, sorted. */
function listing(dir: string): string[] {
  const out = execFileSync("find", [".", "-mindepth", "1", "-printf", "%P %y %U:%G\\n"], { cwd: dir, encoding: "utf8" }).trim();
  return out === "" ? [] : out.split("\n").sort();
}

test("symlinks pointing up or to absolute paths are kept as written, and writes through them stay inside the root", async () => {
  await withDirs(async ({ base, root, outside }) => {
    const archive = join(base, "rootfs.tar");
    await writeFile(
      archive,
      tarOf([
        { path: "run/" },
        { path: "var/" },
        { path: "var/run", type: "symlink", linkpath: "/run" },
        { path: "var/run/pid", body: "1" },
        { path: "lib/up", type: "symlink", linkpath: "../../../../outside" },
        { path: "lib/up/escaped", body: "x" },
        { path: "var/hard", type: "hardlink", linkpath: "var/run/pid" },
      ]),
    );
    await extractArchive(archive, root);
    assert.is(await readlink(join(root, "var/run")), "/run");
    assert.is(await readlink(join(root, "lib/up")), "../../../../outside");
    assert.is(await readFile(join(root, "run/pid"), "utf8"), "1", "written through /run inside the root");
    assert.is(await readFile(join(root, "outside/escaped"), "utf8"), "x", "`..` above the root stays at the root");
    assert.equal(await readdir(outside), [], "nothing was written outside");
    assert.is((await stat(join(root, "var/hard"))).ino, (await stat(join(root, "run/pid"))).ino, "a hard link through a symlink");
  });
});

test("entry names with a leading / or climbing .. are placed under the root, as docker's chrooted untar does", async () => {
  await withDirs(async ({ base, root }) => {
    const archive = join(base, "abs.tar");
    await writeFile(archive, tarOf([{ path: "/etc/conf", body: "c" }, { path: "../../top", body: "t" }, { path: "a/../../b", body: "b" }]));
    await extractArchive(archive, root);
    assert.equal(listing(root), ["b f 0:0", "etc d 0:0", "etc/conf f 0:0", "top f 0:0"]);
  });
});

test("an owner given for the extraction (ADD --chown) applies to every entry", async () => {
  await withDirs(async ({ base, root }) => {
    const archive = join(base, "owned.tar");
    await writeFile(archive, tarOf([{ path: "d/", uid: 5, gid: 6 }, { path: "d/f", body: "x", uid: 5, gid: 6 }, { path: "l", type: "symlink", linkpath: "d/f" }]));
    await extractArchive(archive, root, { owner: { uid: 100, gid: 200 } });
    assert.equal(listing(root), ["d d 100:200", "d/f f 100:200", "l l 100:200"]);
  });
});

test("whiteout names in an archive are plain files, not deletions", async () => {
  await withDirs(async ({ base, root }) => {
    await writeFile(join(root, "keep"), "k");
    const archive = join(base, "wh.tar");
    await writeFile(archive, tarOf([{ path: ".wh.keep", body: "" }, { path: "d/.wh..wh..opq", body: "" }]));
    await extractArchive(archive, root);
    assert.equal(listing(root), [".wh.keep f 0:0", "d d 0:0", "d/.wh..wh..opq f 0:0", "keep f 0:0"]);
  });
});

test("every compression BuildKit detects is unpacked: gzip, bzip2, xz and zstd", async () => {
  await withDirs(async ({ base, root }) => {
    const plain = join(base, "a.tar");
    await writeFile(plain, tarOf([{ path: "hello", body: "world" }]));
    const files: Record<string, string> = { "a.tar": plain };
    await writeFile(join(base, "a.tar.gz"), gzipSync(await readFile(plain)));
    files["a.tar.gz"] = join(base, "a.tar.gz");
    for (const [program, suffix] of [["bzip2", "bz2"], ["xz", "xz"], ["zstd", "zst"]]) {
      execFileSync(program, ["-k", "-q", plain]);
      files[`a.tar.${suffix}`] = `${plain}.${suffix}`;
    }
    for (const [name, file] of Object.entries(files)) {
      assert.ok(await isTarArchive(file), `${name} is an archive`);
      const dest = join(root, name.replace(/\./g, "-"));
      await mkdir(dest);
      await extractArchive(file, dest);
      assert.is(await readFile(join(dest, "hello"), "utf8"), "world", name);
    }
  });
});

test("files that only look like archives are not: compressed non-tar data, a short file, a bad checksum, zeros", async () => {
  await withDirs(async ({ base }) => {
    const cases: Record<string, Buffer> = {
      "text.gz": gzipSync(Buffer.from("just text, not a tar\n".repeat(40))),
      "short.tar": tarOf([{ path: "x", body: "1" }]).subarray(0, 300),
      "bad-sum.tar": Buffer.concat([Buffer.from("x".repeat(100)), tarOf([{ path: "x", body: "1" }]).subarray(100)]),
      "zeros.tar": Buffer.alloc(2048),
      "empty.tar": Buffer.alloc(0),
      "bz.txt": Buffer.from("BZh but nothing else"),
    };
    for (const [name, bytes] of Object.entries(cases)) {
      await writeFile(join(base, name), bytes);
      assert.not.ok(await isTarArchive(join(base, name)), name);
    }
  });
});

test("a truncated archive is one INVALID_ARCHIVE error", async () => {
  await withDirs(async ({ base, root }) => {
    const archive = join(base, "cut.tar");
    await writeFile(archive, tarOf([{ path: "a", body: "x".repeat(2000) }]).subarray(0, 1024));
    assert.ok(await isTarArchive(archive), "its first header is whole, so ADD tries to unpack it, as BuildKit does");
    try {
      await extractArchive(archive, root);
      assert.unreachable("should have thrown");
    } catch (error) {
      assert.ok(isTsbuildError(error, "INVALID_ARCHIVE"), String(error));
      assert.match((error as Error).message, /ends in the middle of an entry/);
    }
  });
});

test.run();
