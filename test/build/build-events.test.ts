import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { isTsbuildError } from "../../errors.js";
import { build } from "../../build/build.js";
import { buildWithEvents } from "../../build/build-events.js";
import type { ProgressEvent } from "../../solver/types.js";
import { mountsUnder, withBuildRoot } from "../solver/build-fixture.js";

/** A context whose RUN says "started" and then waits for a file that never comes. */
async function endlessContext(dir: string): Promise<string> {
  const context = join(dir, "endless");
  await mkdir(context);
  await writeFile(join(context, "Dockerfile"), "FROM busybox\nRUN --mount=type=bind,target=/ctx sh -c 'echo started; until [ -e /ctx/never ]; do sleep 0.1; done'\n");
  return context;
}

test("leaving buildWithEvents' loop cancels the build, and nothing stays mounted", async () => {
  await withBuildRoot(async (root) => {
    const run = buildWithEvents({ context: await endlessContext(root.dir), worker: root.worker });
    for await (const event of run.events) {
      if (event.type === "vertex-log" && event.data.toString().includes("started")) break;
    }
    const error = await run.result.catch((e: unknown) => e);
    assert.ok(isTsbuildError(error, "CANCELLED"), String(error));
    assert.match((error as Error).message, "the reader of the build's events stopped reading");
    assert.equal(await mountsUnder(root.dir), []);
  });
});

test("the caller's abort reason is kept in the build's error", async () => {
  await withBuildRoot(async (root) => {
    const controller = new AbortController();
    const error = await build({
      context: await endlessContext(root.dir),
      worker: root.worker,
      signal: controller.signal,
      onProgress: (event) => {
        if (event.type === "vertex-log" && event.data.toString().includes("started")) controller.abort("deploy superseded");
      },
    }).catch((e: unknown) => e);
    assert.ok(isTsbuildError(error, "CANCELLED"), String(error));
    assert.match((error as Error).message, "deploy superseded");
  });
});

test("exports report their phases, and the events end with the result", async () => {
  await withBuildRoot(async (root) => {
    const context = await root.fixture("multi-stage");
    const out = join(root.dir, "out");
    const run = buildWithEvents({ context, worker: root.worker, tags: ["app:1"], output: { type: "local", dest: out } });
    const events: ProgressEvent[] = [];
    for await (const event of run.events) events.push(event);
    const result = await run.result;
    const last = events[events.length - 1];
    assert.equal(last, { type: "result", imageId: result.imageId, manifestDigest: result.manifestDigest, names: result.names, durationMs: result.durationMs });
    const phases = events.flatMap((event) => (event.type === "phase-progress" ? [`${event.phase} ${event.name} ${event.progress.action}`] : []));
    assert.ok(phases.includes("export exporting to image start") && phases.includes("export exporting to image done"), phases.join("\n"));
    assert.ok(phases.includes(`export copying files to ${out} done`), phases.join("\n"));
    assert.ok(phases.some((phase) => phase.startsWith("export exporting to image write")), "a progress event per layer");
    assert.ok(result.steps.every((step) => Number.isInteger(step.durationMs)) && Number.isInteger(result.durationMs), "durations are whole milliseconds");
  });
});

test("the export counts the image's new layers in bytes, done and total", async () => {
  await withBuildRoot(async (root) => {
    const context = join(root.dir, "bytes");
    await mkdir(context);
    await writeFile(join(context, "Dockerfile"), "FROM busybox\nRUN head -c 3000000 /dev/zero > /zeros\nRUN echo small > /small\n");
    const events: ProgressEvent[] = [];
    const result = await build({ context, worker: root.worker, onProgress: (event) => events.push(event) });
    const layers = events.flatMap((event) => (event.type === "phase-progress" && event.progress.id === "exporting layers" ? [event.progress] : []));
    const last = layers.at(-1);
    assert.ok(last !== undefined && last.unit === "bytes" && last.done === true, JSON.stringify(layers));
    // The tar of both new layers: the 3 MB file and the small one, with their headers.
    const manifest = JSON.parse((await root.worker.store.content.read(result.manifestDigest)).toString("utf8")) as { layers: Array<{ size: number }> };
    const total = manifest.layers.slice(-2).reduce((sum, layer) => sum + layer.size, 0);
    assert.ok(total > 3_000_000);
    assert.is(last.current, total);
    assert.is(last.total, total);
    assert.ok(layers.every((progress, i) => i === 0 || progress.current >= layers[i - 1].current), "bytes done only grow");
  });
});

test("a reader that falls behind loses progress events, never a step's", async () => {
  await withBuildRoot(async (root) => {
    const context = await root.fixture("multi-stage");
    const run = buildWithEvents({ context, worker: root.worker, maxQueuedEvents: 1 });
    const result = await run.result; // nothing read until the build is over
    const events: ProgressEvent[] = [];
    for await (const event of run.events) events.push(event);
    const lossy = events.filter((event) => event.type === "vertex-log" || event.type === "vertex-progress" || event.type === "phase-progress");
    assert.is(lossy.length, 1);
    assert.is(events.filter((event) => event.type === "warning" && event.code === "events-dropped").length, 1);
    assert.is(events.filter((event) => event.type === "vertex-completed").length, result.steps.filter((step) => step.status === "done").length);
    assert.is(events[events.length - 1].type, "result");
  });
});

test.run();
