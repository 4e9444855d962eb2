import { mkdir, mkdtemp, readFile, rmdir } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { isTsbuildError } from "../../errors.js";
import { encodeTarHeader, endOfArchive, paddingFor } from "../../oci/layer-tar-header.js";
import { createSnapshotter } from "../../snapshotter/create-snapshotter.js";
import { performMount, performUnmount } from "../../snapshotter/mount-table.js";
import { MOUNT_OPTIONS_LIMIT, overlayOptions } from "../../snapshotter/overlay-options.js";
import { cleanupRoot, makeRoot, mountsUnder } from "./tree-fixtures.js";

function layerWith(files: Record<string, string>): Buffer {
  const parts: Buffer[] = [];
  for (const [path, text] of Object.entries(files)) {
    const body = Buffer.from(text);
    const header = { path, type: "file" as const, mode: 0o644, uid: 0, gid: 0, mtime: 1, linkpath: "", devmajor: 0, devminor: 0, xattrs: new Map() };
    parts.push(encodeTarHeader({ ...header, size: body.length }), body, paddingFor(body.length));
  }
  return Buffer.concat([...parts, endOfArchive()]);
}

test("a chain of 130 committed layers under a /tmp/tsb-XXXXXX root mounts and reads its top file", async () => {
  const root = await makeRoot();
  try {
    const snapshotter = await createSnapshotter(root, { implementation: "overlayfs" });
    let parent: string | undefined;
    for (let i = 1; i <= 130; i++) {
      const key = `layer-${i}`;
      await snapshotter.apply(key, Readable.from([layerWith({ top: String(i), [`only-${i}`]: "x" })]), parent === undefined ? {} : { parent });
      parent = key;
    }
    await snapshotter.prepare("work", parent);
    const [mount] = await snapshotter.mounts("work");
    assert.ok(mount.options[0].split(":").length === 130, "all 130 layers are lowers");
    const target = await mkdtemp(join(root, "mnt-"));
    await snapshotter.mount("work", target);
    try {
      assert.is(await readFile(join(target, "top"), "utf8"), "130");
      assert.is(await readFile(join(target, "only-1"), "utf8"), "x", "the bottom layer shows through");
    } finally {
      await snapshotter.unmount(target);
      await rmdir(target);
    }
    assert.equal(await mountsUnder(root), []);
  } finally {
    await cleanupRoot(root);
  }
});

test("overlay options longer than a page fail with an error naming the limit", () => {
  const lowers = Array.from({ length: 600 }, (_, i) => `${100000 + i}/fs`);
  try {
    overlayOptions({ lowers, upper: "9/fs", work: "9/work" });
    assert.unreachable("600 layers do not fit");
  } catch (error) {
    assert.ok(isTsbuildError(error, "SYSTEM"));
    assert.match((error as Error).message, `more than the kernel's limit of ${MOUNT_OPTIONS_LIMIT} bytes`);
    assert.match((error as Error).message, "a chain of 600 layers");
  }
  assert.ok(overlayOptions({ lowers: lowers.slice(0, 300), upper: "9/fs", work: "9/work" }).length > 0, "300 short names fit");
});

test("the probe picks overlayfs here, and native on a root where overlay cannot be the upper layer", async () => {
  const root = await makeRoot();
  try {
    const chosen = await createSnapshotter(join(root, "plain"));
    assert.is(chosen.name, "overlayfs");
    assert.is(chosen.reason, "overlayfs mounts on this root");
    // overlayfs refuses another overlay as its upper file system.
    for (const dir of ["l", "u", "w", "m"]) await mkdir(join(root, dir));
    await performMount({ type: "overlay", source: "overlay", options: ["lowerdir=l", "upperdir=u", "workdir=w"] }, join(root, "m"), { cwd: root });
    try {
      const fallback = await createSnapshotter(join(root, "m", "root"));
      assert.is(fallback.name, "native");
      assert.match(fallback.reason, /^overlayfs cannot be mounted here: /);
    } finally {
      await performUnmount(join(root, "m"));
    }
  } finally {
    await cleanupRoot(root);
  }
});

test.run();
