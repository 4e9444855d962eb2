import { spawn } from "node:child_process";
import { once } from "node:events";
import { readdir, readlink } from "node:fs/promises";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createSnapshotter } from "../../snapshotter/create-snapshotter.js";
import { cleanupRoot, makeRoot } from "./tree-fixtures.js";

test("snapshots prepared by three processes at once are all recorded, each in its own directory", async () => {
  const root = await makeRoot();
  const children: ReturnType<typeof spawn>[] = [];
  try {
    const moduleUrl = new URL("../../snapshotter/create-snapshotter.js", import.meta.url).href;
    for (const name of ["p", "q", "r"]) {
      const script = `
        const { createSnapshotter } = await import(${JSON.stringify(moduleUrl)});
        const snapshotter = await createSnapshotter(${JSON.stringify(root)}, { implementation: "overlayfs" });
        for (let i = 0; i < 12; i++) await snapshotter.prepare("${name}-" + i);`;
      children.push(spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "ignore", "inherit"] }));
    }
    const codes = await Promise.all(children.map(async (child) => (await once(child, "exit"))[0]));
    assert.equal(codes, [0, 0, 0]);
    const snapshotter = await createSnapshotter(root, { implementation: "overlayfs" });
    const keys: string[] = [];
    await snapshotter.walk((info) => {
      keys.push(info.key);
    });
    assert.is(keys.length, 36);
    const links = await readdir(join(root, "snapshots", "keys"));
    const ids = new Set(await Promise.all(links.map((name) => readlink(join(root, "snapshots", "keys", name)))));
    assert.is(ids.size, 36, "no directory number was handed out twice");
    const dirs = (await readdir(join(root, "snapshots"))).filter((name) => /^\d+$/.test(name));
    assert.equal(dirs.sort(), [...ids].sort(), "every reserved directory became a snapshot");
    assert.equal(await readdir(join(root, "snapshots", "writers")), [], "the processes ended cleanly, leaving nothing to clean up");
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
    await cleanupRoot(root);
  }
});

test.run();
