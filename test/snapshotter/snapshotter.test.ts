import { spawn } from "node:child_process";
import { once } from "node:events";
import { createReadStream, existsSync } from "node:fs";
import { Writable } from "node:stream";
import { chmod, chown, link, mkdir, mkdtemp, readdir, readFile, rm, rmdir, symlink, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { isTsbuildError, type ErrorCode } from "../../errors.js";
import { isZstdAvailable } from "../../oci/layer-compression.js";
import { LayerReader } from "../../oci/layer-reader.js";
import { createSnapshotter } from "../../snapshotter/create-snapshotter.js";
import { runCommand } from "../../snapshotter/run-command.js";
import type { Snapshotter, SnapshotterName } from "../../snapshotter/types.js";
import { cleanupRoot, describeTree, makeRoot, mountsUnder, withMounted } from "./tree-fixtures.js";

/** The same behaviour, asked of both implementations. */
for (const implementation of ["overlayfs", "native"] as SnapshotterName[]) {
  const test = suite(`snapshotter (${implementation})`);

  async function withSnapshotter(fn: (snapshotter: Snapshotter, root: string) => Promise<void>): Promise<void> {
    const root = await makeRoot();
    try {
      const snapshotter = await createSnapshotter(root, { implementation });
      await fn(snapshotter, root);
      assert.equal(await mountsUnder(root), [], "every mount is undone");
    } finally {
      await cleanupRoot(root);
    }
  }

  /** A committed layer with the given files, written through a mount. */
  async function commitLayer(snapshotter: Snapshotter, name: string, parent: string | undefined, write: (dir: string) => Promise<void>) {
    await snapshotter.prepare(`${name}-active`, parent);
    await withMounted(snapshotter, `${name}-active`, write);
    return snapshotter.commit(name, `${name}-active`);
  }

  async function rejects(promise: Promise<unknown>, code: ErrorCode, pattern: RegExp): Promise<void> {
    try {
      await promise;
    } catch (error) {
      assert.ok(isTsbuildError(error, code), `expected ${code}, got ${String(error)}`);
      assert.match((error as Error).message, pattern);
      return;
    }
    assert.unreachable(`expected a ${code} error`);
  }

  test(`is the ${implementation} implementation when asked for it`, async () => {
    await withSnapshotter(async (snapshotter) => {
      assert.is(snapshotter.name, implementation);
      assert.is(snapshotter.reason, "forced by option");
    });
  });

  test("files written in an active snapshot are seen through a view of its committed layer", async () => {
    await withSnapshotter(async (snapshotter) => {
      await commitLayer(snapshotter, "base", undefined, (dir) => writeFile(join(dir, "hello"), "world"));
      const mounts = await snapshotter.view("look", "base");
      assert.is(mounts.length, 1);
      const text = await withMounted(snapshotter, "look", (dir) => readFile(join(dir, "hello"), "utf8"));
      assert.is(text, "world");
      const refused = await withMounted(snapshotter, "look", (dir) =>
        writeFile(join(dir, "new"), "x").then(
          () => "written",
          (error: NodeJS.ErrnoException) => error.code,
        ),
      );
      assert.is(refused, "EROFS", "a view is read-only");
    });
  });

  test("a chain of three layers shows the top layer's files and hides deleted ones", async () => {
    await withSnapshotter(async (snapshotter) => {
      await commitLayer(snapshotter, "l1", undefined, async (dir) => {
        await writeFile(join(dir, "a"), "1");
        await writeFile(join(dir, "gone"), "1");
      });
      await commitLayer(snapshotter, "l2", "l1", async (dir) => {
        await writeFile(join(dir, "a"), "2");
        await rm(join(dir, "gone"));
      });
      await commitLayer(snapshotter, "l3", "l2", (dir) => writeFile(join(dir, "b"), "3"));
      await snapshotter.prepare("work", "l3");
      const seen = await withMounted(snapshotter, "work", async (dir) => describeTree(dir));
      assert.equal(seen.map((line) => line.split(" ")[0]), ["a", "b"]);
      assert.is((await snapshotter.stat("l3")).parent, "l2");
    });
  });

  test("commit turns the active snapshot into a committed one without copying", async () => {
    await withSnapshotter(async (snapshotter) => {
      await snapshotter.prepare("active", undefined, { labels: { a: "1" } });
      await withMounted(snapshotter, "active", (dir) => writeFile(join(dir, "big"), Buffer.alloc(1 << 20, 7)));
      const before = await snapshotter.usage("active");
      const info = await snapshotter.commit("done", "active", { labels: { b: "2" } });
      assert.equal(info.labels, { a: "1", b: "2" });
      assert.is(info.kind, "committed");
      await rejects(snapshotter.stat("active"), "NOT_FOUND", /Cannot find snapshot "active"/);
      const after = await snapshotter.usage("done");
      assert.ok(before.size >= 1 << 20, `usage counts the 1 MiB file (got ${before.size})`);
      assert.equal(after, before);
    });
  });

  test("walk lists every snapshot in key order with its kind and parent", async () => {
    await withSnapshotter(async (snapshotter) => {
      await commitLayer(snapshotter, "base", undefined, async () => undefined);
      await snapshotter.prepare("c-active", "base");
      await snapshotter.view("b-view", "base");
      const seen: string[] = [];
      await snapshotter.walk((info) => {
        seen.push(`${info.key}:${info.kind}:${info.parent ?? "-"}`);
      });
      assert.equal(seen, ["b-view:view:base", "base:committed:-", "c-active:active:base"]);
    });
  });

  test("misuse fails with the matching error codes", async () => {
    await withSnapshotter(async (snapshotter) => {
      await commitLayer(snapshotter, "base", undefined, async () => undefined);
      await snapshotter.prepare("child", "base");
      await rejects(snapshotter.prepare("child", "base"), "CONFLICT", /Cannot create snapshot "child": it exists/);
      await rejects(snapshotter.prepare("x", "missing"), "NOT_FOUND", /"missing"/);
      await rejects(snapshotter.prepare("x", "child"), "CONFLICT", /the parent is active, not committed/);
      await rejects(snapshotter.remove("base"), "IN_USE", /snapshot "child" is based on it/);
      await rejects(snapshotter.mounts("base"), "CONFLICT", /it is committed/);
      await snapshotter.view("v", "base");
      await rejects(snapshotter.commit("v2", "v"), "CONFLICT", /it is a view/);
      await rejects(snapshotter.remove("nothing"), "NOT_FOUND", /"nothing"/);
      await rejects(snapshotter.diff("child", join(snapshotter.root, "no-such-dir", "layer.tgz")), "FILE_NOT_FOUND", /^Cannot diff snapshot "child": no such file or directory \(ENOENT\)/);
      const target = await mkdtemp(join(snapshotter.root, "mnt-"));
      await snapshotter.mount("child", target);
      try {
        await rejects(snapshotter.remove("child"), "IN_USE", /it is mounted at/);
        await rejects(snapshotter.commit("c2", "child"), "IN_USE", /it is mounted at/);
      } finally {
        await snapshotter.unmount(target);
        await rmdir(target);
      }
      await snapshotter.remove("child");
      await snapshotter.remove("v");
      await snapshotter.remove("base");
      const left: string[] = [];
      await snapshotter.walk((info) => {
        left.push(info.key);
      });
      assert.equal(left, []);
    });
  });

  test("diff and apply round-trip creates, changes, deletions, opaque dirs, links, modes and capabilities", async () => {
    const otherRoot = await makeRoot();
    try {
      await withSnapshotter(async (snapshotter, root) => {
        await commitLayer(snapshotter, "L1", undefined, async (dir) => {
          await mkdir(join(dir, "etc"));
          await writeFile(join(dir, "etc/passwd"), "root:x:0:0::/root:/bin/sh\n");
          await mkdir(join(dir, "opaque/sub"), { recursive: true });
          await writeFile(join(dir, "opaque/old"), "old");
          await writeFile(join(dir, "opaque/sub/older"), "older");
          await mkdir(join(dir, "deldir"));
          await writeFile(join(dir, "deldir/f"), "f");
          await writeFile(join(dir, "deleteme"), "bye");
          await writeFile(join(dir, "modify.txt"), "v1");
          await writeFile(join(dir, "target.txt"), "target");
        });
        await snapshotter.prepare("A", "L1");
        const expected = await withMounted(snapshotter, "A", async (dir) => {
          await writeFile(join(dir, "new.txt"), "new");
          await writeFile(join(dir, "modify.txt"), "v2, longer");
          await rm(join(dir, "deleteme"));
          await rm(join(dir, "deldir"), { recursive: true });
          await rm(join(dir, "opaque"), { recursive: true });
          await mkdir(join(dir, "opaque"));
          await writeFile(join(dir, "opaque/fresh"), "fresh");
          await mkdir(join(dir, "hl"));
          await writeFile(join(dir, "hl/a"), "shared");
          await link(join(dir, "hl/a"), join(dir, "hl/b"));
          await symlink("target.txt", join(dir, "sym"));
          await symlink("/etc/passwd", join(dir, "abs"));
          await writeFile(join(dir, "suid"), "#!/bin/sh\n");
          await chmod(join(dir, "suid"), 0o4755);
          await mkdir(join(dir, "sgid"));
          await chmod(join(dir, "sgid"), 0o2775);
          await mkdir(join(dir, "tmp"));
          await chmod(join(dir, "tmp"), 0o1777);
          await writeFile(join(dir, "owned"), "mine");
          await chown(join(dir, "owned"), 1234, 5678);
          await writeFile(join(dir, "capfile"), "ping");
          await runCommand("setcap", ["cap_net_raw+ep", join(dir, "capfile")]);
          const deep = join(dir, "deep/".repeat(30));
          await mkdir(deep, { recursive: true });
          await writeFile(join(deep, "n".repeat(150)), "long name");
          await runCommand("mknod", [join(dir, "null"), "c", "1", "3"]);
          await runCommand("mkfifo", [join(dir, "fifo")]);
          await utimes(join(dir, "new.txt"), 1_000_000_000, 1_000_000_000);
          return describeTree(dir, { mtimes: true });
        });
        assert.ok(expected.some((line) => line.startsWith("capfile ") && line.includes(" cap:0x")), "the capability was set");
        assert.ok(expected.some((line) => line.startsWith("hl/b ") && line.includes("same-inode-as:hl/a")), "the hard link exists");
        assert.ok(expected.some((line) => line.startsWith("suid ") && line.includes("mode:4755")), "the setuid bit is set");

        const layer1 = join(root, "layer1.tar.gz");
        const layer2 = join(root, "layer2.tar.gz");
        const written1 = await snapshotter.diff("L1", layer1);
        const written2 = await snapshotter.diff("A", layer2);
        assert.is(written2.mediaType, "application/vnd.oci.image.layer.v1.tar+gzip");

        const names: string[] = [];
        const reader = new LayerReader(createReadStream(layer2));
        for await (const entry of reader.entries()) names.push(`${entry.path}:${entry.type}${entry.type === "hardlink" ? `->${entry.linkpath}` : ""}`);
        assert.is(reader.diffId, written2.diffId, "the reader's diffID matches the writer's");
        assert.ok(names.includes(".wh.deleteme:file"), "a deleted file becomes a whiteout");
        assert.ok(names.includes(".wh.deldir:file"), "a deleted directory becomes one whiteout");
        assert.ok(names.includes("hl/b:hardlink->hl/a") || names.includes("hl/a:hardlink->hl/b"), "the second link is a hard link entry");
        if (implementation === "overlayfs") assert.ok(names.includes("opaque/.wh..wh..opq:file"), "an opaque directory gets its marker");
        else assert.ok(names.includes("opaque/.wh.old:file") && names.includes("opaque/.wh.sub:file"), "lost children are whited out");
        assert.ok(names.indexOf("deep:directory") < names.indexOf("deep/deep:directory"), "parents come before children");

        const other = await createSnapshotter(otherRoot, { implementation });
        const applied1 = await other.apply("L1", createReadStream(layer1));
        assert.is(applied1.diffId, written1.diffId);
        const applied2 = await other.apply("L2", createReadStream(layer2), { parent: "L1" });
        assert.is(applied2.diffId, written2.diffId);
        assert.is(applied2.compression, "gzip");
        assert.is(applied2.info.kind, "committed");
        await other.prepare("check", "L2");
        const target = await mkdtemp(join(otherRoot, "mnt-"));
        await other.mount("check", target);
        try {
          assert.equal(await describeTree(target, { mtimes: true }), expected);
        } finally {
          await other.unmount(target);
          await rmdir(target);
        }
      });
    } finally {
      await cleanupRoot(otherRoot);
    }
  });

  test("the same tree gives the same layer digest with SOURCE_DATE_EPOCH, whatever its real times", async () => {
    const digests: string[] = [];
    const unclamped: string[] = [];
    for (const when of [1_600_000_000, 1_700_000_000]) {
      await withSnapshotter(async (snapshotter, root) => {
        await snapshotter.prepare("a");
        await withMounted(snapshotter, "a", async (dir) => {
          await mkdir(join(dir, "d"));
          await writeFile(join(dir, "d/file"), "same content");
          await symlink("file", join(dir, "d/link"));
          for (const path of ["d/file", "d", ""]) await utimes(join(dir, path), when, when);
        });
        const result = await snapshotter.diff("a", join(root, "layer.tgz"), { sourceDateEpoch: 1_000_000 });
        digests.push(`${result.digest} ${result.diffId}`);
        unclamped.push((await snapshotter.diff("a", join(root, "layer2.tgz"), { sourceDateEpoch: null })).digest);
      });
    }
    assert.is(digests[0], digests[1]);
    assert.is.not(unclamped[0], unclamped[1], "without the epoch the different mtimes show");
  });

  test("a diff stops when its signal is aborted: CANCELLED, no more bytes, no file left", async () => {
    await withSnapshotter(async (snapshotter, root) => {
      await commitLayer(snapshotter, "big", undefined, async (dir) => {
        // Many files, so the tar is still being made when the first bytes arrive.
        for (let i = 0; i < 400; i++) await writeFile(join(dir, `f${i}`), Buffer.alloc(64 * 1024, i));
      });
      const controller = new AbortController();
      let received = 0;
      let afterAbort = 0;
      const sink = new Writable({
        write(chunk: Buffer, _encoding, callback) {
          if (controller.signal.aborted) afterAbort += chunk.length;
          received += chunk.length;
          controller.abort(); // at the first bytes: a deterministic point mid-way
          callback();
        },
      });
      await rejects(snapshotter.diff("big", sink, { compression: "none", signal: controller.signal }), "CANCELLED", /cancelled/);
      assert.ok(received > 0 && received < 400 * 64 * 1024, `stopped mid-way: ${received} bytes`);
      assert.is(afterAbort, 0, "no bytes after the abort");
      const path = join(root, "cancelled.tar");
      await rejects(snapshotter.diff("big", path, { signal: AbortSignal.abort() }), "CANCELLED", /cancelled/);
      assert.not.ok(existsSync(path), "a half-written layer file is removed");
    });
  });

  test("a zstd layer round-trips, or zstd is reported as unavailable", async () => {
    await withSnapshotter(async (snapshotter, root) => {
      await snapshotter.prepare("a");
      await withMounted(snapshotter, "a", (dir) => writeFile(join(dir, "z"), "zstd!".repeat(1000)));
      const path = join(root, "layer.tar.zst");
      if (!isZstdAvailable()) {
        await rejects(snapshotter.diff("a", path, { compression: "zstd" }), "SYSTEM", /zstd/);
        return;
      }
      const written = await snapshotter.diff("a", path, { compression: "zstd" });
      assert.is(written.mediaType, "application/vnd.oci.image.layer.v1.tar+zstd");
      const head = (await readFile(path)).subarray(0, 4);
      assert.equal([...head], [0x28, 0xb5, 0x2f, 0xfd]);
      const applied = await snapshotter.apply("z", createReadStream(path));
      assert.is(applied.compression, "zstd");
      assert.is(applied.diffId, written.diffId);
      await snapshotter.view("zv", "z");
      const text = await withMounted(snapshotter, "zv", (dir) => readFile(join(dir, "z"), "utf8"));
      assert.is(text, "zstd!".repeat(1000));
    });
  });

  test("a root of the one-table format (metadata.json) is moved to one record per snapshot on first use", async () => {
    const root = await makeRoot();
    try {
      const snapshots = join(root, "snapshots");
      await mkdir(join(snapshots, "1", "fs"), { recursive: true });
      await mkdir(join(snapshots, "1", "work"));
      await writeFile(join(snapshots, "1", "fs", "old"), "from before");
      const at = "2026-01-01T00:00:00.000Z";
      const table = { version: 1, nextId: 2, snapshots: { base: { id: 1, kind: "committed", labels: { l: "v" }, created: at, updated: at } }, mounts: {}, reserved: {} };
      await writeFile(join(snapshots, "metadata.json"), JSON.stringify(table));
      const snapshotter = await createSnapshotter(root, { implementation });
      assert.equal(await snapshotter.stat("base"), { key: "base", kind: "committed", labels: { l: "v" }, created: at, updated: at });
      await snapshotter.view("look", "base");
      assert.is(await withMounted(snapshotter, "look", (dir) => readFile(join(dir, "old"), "utf8")), "from before");
      assert.not.ok((await readdir(snapshots)).includes("metadata.json"), "the table is gone");
      await snapshotter.remove("look");
      await rejects(snapshotter.remove("nothing"), "NOT_FOUND", /Cannot find snapshot "nothing"/);
    } finally {
      await cleanupRoot(root);
    }
  });

  test("cleanup removes the directory of a process killed while creating a snapshot, and nothing live", async () => {
    await withSnapshotter(async (snapshotter, root) => {
      await commitLayer(snapshotter, "kept", undefined, (dir) => writeFile(join(dir, "a"), "a"));
      const snapshots = join(root, "snapshots");
      const moduleUrl = new URL("../../snapshotter/snapshot-metadata.js", import.meta.url).href;
      const script = `
        const { SnapshotMetadata } = await import(${JSON.stringify(moduleUrl)});
        const { mkdirSync, writeFileSync } = await import("node:fs");
        const id = await new SnapshotMetadata(${JSON.stringify(snapshots)}).reserveId();
        mkdirSync(${JSON.stringify(snapshots)} + "/" + id + "/fs", { recursive: true });
        writeFileSync(${JSON.stringify(snapshots)} + "/" + id + "/fs/half", "half");
        process.stdout.write(id + "\\n");
        setInterval(() => undefined, 1000);`;
      const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "inherit"] });
      let killedId: number;
      try {
        const [line] = (await once(child.stdout, "data")) as [Buffer];
        killedId = Number(line.toString().trim());
        assert.ok(Number.isInteger(killedId), `the child printed its directory number, not ${JSON.stringify(line.toString())}`);
      } finally {
        child.kill("SIGKILL");
        if (child.exitCode === null && child.signalCode === null) await once(child, "exit");
      }
      const { SnapshotMetadata } = await import("../../snapshotter/snapshot-metadata.js");
      // A reservation makes its directory, with an owner file naming the live process.
      const liveId = await new SnapshotMetadata(snapshots).reserveId();
      await mkdir(join(snapshots, "999"));
      const result = await snapshotter.cleanup();
      assert.equal(result.removed, [killedId, 999].sort((a, b) => a - b));
      const left = await readdir(snapshots);
      assert.ok(left.includes(String(liveId)), "a directory reserved by a live process stays");
      assert.not.ok(left.includes(String(killedId)));
      await snapshotter.view("look", "kept");
      assert.is(await withMounted(snapshotter, "look", (dir) => readFile(join(dir, "a"), "utf8")), "a");
    });
  });

  test.run();
}
