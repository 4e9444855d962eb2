import { spawn } from "node:child_process";
import { once } from "node:events";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createSnapshotter } from "../../snapshotter/create-snapshotter.js";
import type { SnapshotTable } from "../../snapshotter/snapshot-metadata.js";
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
    const table = JSON.parse(await readFile(join(root, "snapshots", "metadata.json"), "utf8")) as SnapshotTable;
    const ids = new Set(Object.values(table.snapshots).map((record) => record.id));
    assert.is(ids.size, 36, "no directory number was handed out twice");
    assert.equal(table.reserved, {}, "every reservation became a snapshot");
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
    await cleanupRoot(root);
  }
});

test.run();
