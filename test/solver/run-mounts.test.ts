import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { build } from "../../build/build.js";
import type { ProgressEvent } from "../../solver/types.js";
import { withBuildRoot } from "./build-fixture.js";
import { filesContaining } from "../helpers/files-containing.js";

const SECRET = "s3cr3t-token-value";

test("a cache mount keeps its files between builds, a secret lands nowhere, a bind reads the context", async () => {
  await withBuildRoot(async (root) => {
    const context = await root.fixture("run-mounts");
    const secretFile = join(root.dir, "token");
    await writeFile(secretFile, SECRET);
    const events: ProgressEvent[] = [];
    const options = {
      context,
      worker: root.worker,
      tags: ["mounts:1"],
      secrets: { token: { file: secretFile } },
      output: { type: "local" as const, dest: join(root.dir, "out1") },
      onProgress: (event: ProgressEvent) => events.push(event),
    };
    await build(options);
    const out1 = join(root.dir, "out1");
    assert.is((await readFile(join(out1, "count"), "utf8")).trim(), "1");
    assert.is((await readFile(join(out1, "token-length"), "utf8")).trim(), String(SECRET.length));
    assert.is(await readFile(join(out1, "input-copy.txt"), "utf8"), "bound input\n");
    assert.not.ok((await readdir(out1)).includes("cache"), "the cache mount's files are not in the image");

    // The cache mount is not part of the cache key: a rebuild is cached, a --no-cache rebuild sees the old runs.
    const out2 = join(root.dir, "out2");
    await build({ ...options, noCache: true, output: { type: "local", dest: out2 } });
    assert.is((await readFile(join(out2, "count"), "utf8")).trim(), "2");

    assert.equal(await filesContaining(join(root.dir, "root"), SECRET), [], "no blob, record or snapshot holds the secret");
    assert.not.ok(events.some((event) => event.type === "vertex-log" && event.data.includes(SECRET)));
  });
});

test("a bind mount's files are part of its step's cache key", async () => {
  await withBuildRoot(async (root) => {
    const context = await root.fixture("run-mounts");
    const secretFile = join(root.dir, "token");
    await writeFile(secretFile, SECRET);
    const options = { context, worker: root.worker, secrets: { token: { file: secretFile } } };
    await build(options);
    await writeFile(join(context, "data/input.txt"), "changed input\n");
    const rebuilt = await build(options);
    const ran = rebuilt.steps.filter((step) => step.status === "done").map((step) => step.name);
    assert.is(ran.length, 1, ran.join("\n"));
    assert.match(ran[0], /RUN --mount=type=bind,source=data,target=\/data cp /);
  });
});

test("identical steps run once and independent stages run side by side", async () => {
  await withBuildRoot(async (root) => {
    const context = await root.fixture("shared-steps");
    const events: ProgressEvent[] = [];
    const result = await build({ context, worker: root.worker, concurrency: 4, output: { type: "local", dest: join(root.dir, "out") }, onProgress: (event) => events.push(event) });
    assert.is(root.runs(), 3, "the shared RUN ran once, the two slow ones once each");
    const out = join(root.dir, "out");
    assert.is(await readFile(join(out, "one.txt"), "utf8"), "same\n");
    assert.is(await readFile(join(out, "two.txt"), "utf8"), "same\n");
    const order = events.filter((e) => e.type === "vertex-started" || e.type === "vertex-completed").map((e) => `${e.type}:${"name" in e ? e.name : ""}`);
    const startedB = order.findIndex((e) => e.startsWith("vertex-started:[slow-b"));
    const doneA = order.findIndex((e) => e.startsWith("vertex-completed:[slow-a"));
    const startedA = order.findIndex((e) => e.startsWith("vertex-started:[slow-a"));
    const doneB = order.findIndex((e) => e.startsWith("vertex-completed:[slow-b"));
    assert.ok(startedB < doneA && startedA < doneB, order.join("\n"));
    const shared = result.steps.filter((step) => step.name.endsWith("RUN echo same > /same.txt"));
    assert.equal(shared.map((step) => step.status).sort(), ["cached", "done"], "the second copy of the step is reported cached");
  });
});

test.run();
