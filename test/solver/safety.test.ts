import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { isTsbuildError } from "../../errors.js";
import { build } from "../../build/build.js";
import { mountsUnder, withBuildRoot } from "./build-fixture.js";

test("COPY through a symlink in the image writes inside the image, never on the host", async () => {
  const hostDir = await mkdtemp(join(tmpdir(), "tsb-host-target-"));
  try {
    await withBuildRoot(async (root) => {
      const context = join(root.dir, "ctx");
      await mkdir(context);
      await writeFile(join(context, "one.txt"), "one\n");
      await writeFile(
        join(context, "Dockerfile"),
        `FROM busybox\nRUN mkdir -p ${hostDir} && ln -s ${hostDir} /escape && ln -s ../../../../.. /up\nCOPY one.txt /escape/\nCOPY one.txt /up/${hostDir}/via-dots.txt\n`,
      );
      const out = join(root.dir, "out");
      await build({ context, worker: root.worker, output: { type: "local", dest: out } });
      assert.equal(await readdir(hostDir), [], "nothing was written to the host directory the symlinks name");
      assert.equal((await readdir(join(out, hostDir))).sort(), ["one.txt", "via-dots.txt"]);
    });
  } finally {
    await rm(hostDir, { recursive: true, force: true });
  }
});

test("an aborted build stops its running step, leaves nothing mounted and no image", async () => {
  await withBuildRoot(async (root) => {
    const context = join(root.dir, "ctx");
    await mkdir(context);
    await writeFile(join(context, "Dockerfile"), "FROM busybox\nRUN sleep 600\n");
    const controller = new AbortController();
    const started = Date.now();
    const building = build({
      context,
      worker: root.worker,
      tags: ["aborted:1"],
      signal: controller.signal,
      onProgress: (event) => {
        if (event.type === "vertex-started" && event.name.includes("sleep")) setTimeout(() => controller.abort(), 200);
      },
    });
    const error = await building.catch((e: unknown) => e);
    assert.ok(isTsbuildError(error, "CANCELLED"), String(error));
    assert.ok(Date.now() - started < 300_000, "the sleep did not run to its end");
    assert.equal(await mountsUnder(root.dir), []);
    assert.not.ok(await root.worker.store.images.find("aborted:1"));
    const kinds: string[] = [];
    await root.worker.snapshotter.walk((info) => void kinds.push(info.kind));
    assert.ok(kinds.every((kind) => kind === "committed"), kinds.join(","));
  });
});

test("with SOURCE_DATE_EPOCH two builds on separate roots give the same image id", async () => {
  const ids: string[] = [];
  const configs: unknown[] = [];
  for (let i = 0; i < 2; i++) {
    await withBuildRoot(async (root) => {
      const context = await root.fixture("multi-stage");
      const result = await build({ context, worker: root.worker, buildArgs: { SOURCE_DATE_EPOCH: "1700000000" } });
      assert.is(result.config.created, "2023-11-14T22:13:20Z");
      ids.push(result.imageId);
      configs.push(result.config);
    });
  }
  assert.equal(configs[0], configs[1]);
  assert.is(ids[0], ids[1]);
});


test.run();
