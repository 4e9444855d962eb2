import { mkdir, readFile, readdir, stat, symlink, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { isTsbuildError } from "../../errors.js";
import { build, type BuildResult } from "../../solver/build.js";
import { BuildFailure } from "../../solver/build-failure.js";
import { buildWithEvents } from "../../solver/build-events.js";
import { unpackImage } from "../../worker/unpack-image.js";
import { openWorker } from "../../worker/worker.js";
import { buildRootDirs, mountsUnder, withBuildRoot, type BuildRoot } from "./build-fixture.js";

/** Unpacks the image `name` from the store and calls `fn` with its file system mounted read-only. */
async function withImageFiles<T>(root: BuildRoot, name: string, fn: (rootfs: string) => Promise<T>): Promise<T> {
  const imageWorker = await openWorker({ root: join(root.dir, "root"), snapshotter: "overlayfs" });
  const { top } = await unpackImage(imageWorker, name);
  const snapshotter = root.worker.snapshotter;
  const target = join(root.dir, "inspect");
  await mkdir(target, { recursive: true });
  await snapshotter.view("inspect-view", top!);
  await snapshotter.mount("inspect-view", target);
  try {
    return await fn(target);
  } finally {
    await snapshotter.unmount(target);
    await snapshotter.remove("inspect-view");
  }
}

function statuses(result: BuildResult): Record<string, string> {
  return Object.fromEntries(result.steps.map((step) => [step.name, step.status]));
}

async function buildFixture(root: BuildRoot, context: string, extra: Partial<Parameters<typeof build>[0]> = {}): Promise<BuildResult> {
  return build({ context, worker: root.worker, tags: ["app:1"], onProgress: (event) => root.events.push(event), ...extra });
}

test("a multi-stage build makes an image with the config and files the Dockerfile describes", async () => {
  await withBuildRoot(async (root) => {
    const context = await root.fixture("multi-stage");
    const result = await buildFixture(root, context, { tags: ["app:1", "app:latest"] });

    assert.equal(result.names, ["docker.io/library/app:1", "docker.io/library/app:latest"]);
    const config = { ...result.config, config: result.config.config ?? {} };
    assert.equal(config.config.Env, ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "APP_HOME=/srv/app"]);
    assert.is(config.config.WorkingDir, "/srv/app");
    assert.is(config.config.User, "alice");
    assert.equal(config.config.Cmd, ["cat", "/srv/app/shout.txt"]);
    // busybox's one layer, then WORKDIR, COPY --from, COPY and RUN of the last stage.
    assert.is(config.rootfs.diff_ids.length, 5);
    assert.ok(config.history!.every((entry) => typeof entry.created === "string"));
    assert.is(config.history!.filter((entry) => !entry.empty_layer).length, 5);

    await withImageFiles(root, "app:1", async (rootfs) => {
      assert.is(await readFile(join(rootfs, "srv/app/shout.txt"), "utf8"), "HELLO FROM THE CONTEXT\nbuilt\n");
      assert.is(await readFile(join(rootfs, "srv/app/home.txt"), "utf8"), "home is /srv/app\n");
      const script = await stat(join(rootfs, "srv/app/run.sh"));
      assert.is(script.uid, 1000, "COPY --chown=alice gives the copied files to alice");
      assert.is(script.mode & 0o777, 0o755, "COPY keeps the mode of the context file");
      const shout = await stat(join(rootfs, "srv/app/shout.txt"));
      assert.is(shout.uid, 0);
      // Ignored by .dockerignore, and the unused stage never ran.
      assert.equal((await readdir(join(rootfs, "srv/app"))).sort(), ["app.conf", "home.txt", "listing.txt", "run.sh", "shout.txt"]);
    });
    assert.not.ok(root.events.some((event) => "name" in event && event.name.includes("broken")), "the unused failing stage never runs");
    assert.equal(await mountsUnder(root.dir), []);
  });
});

test("a rebuild with nothing changed reports every step cached and starts no container", async () => {
  await withBuildRoot(async (root) => {
    const context = await root.fixture("multi-stage");
    const first = await buildFixture(root, context);
    const runsAfterFirst = root.runs();
    assert.is(runsAfterFirst, 2);
    const second = await buildFixture(root, context);
    assert.is(root.runs(), runsAfterFirst, "no container started");
    assert.ok(second.steps.length > 0);
    assert.ok(second.steps.every((step) => step.status === "cached"), JSON.stringify(statuses(second)));
    assert.is(second.imageId, first.imageId, "the same image, to the byte");
  });
});

test("touching one copied file rebuilds that COPY and what follows, nothing else", async () => {
  await withBuildRoot(async (root) => {
    const context = await root.fixture("multi-stage");
    await buildFixture(root, context);
    // Same content, new mtime: nothing rebuilds.
    const later = new Date(Date.now() + 60_000);
    await utimes(join(context, "app/app.conf"), later, later);
    const touched = await buildFixture(root, context);
    assert.ok(touched.steps.every((step) => step.status === "cached"), "an mtime alone is no change");
    // A changed ignored file: nothing rebuilds.
    await writeFile(join(context, "ignored/notes.txt"), "changed\n");
    assert.ok((await buildFixture(root, context)).steps.every((step) => step.status === "cached"));

    await writeFile(join(context, "app/app.conf"), "config=2\n");
    const runs = root.runs();
    const changed = await buildFixture(root, context);
    const ran = changed.steps.filter((step) => step.status === "done").map((step) => step.name);
    assert.equal(ran, ["[stage-2 4/5] COPY --chown=alice:alice app/ ./", "[stage-2 5/5] RUN echo \"home is /srv/app\" > home.txt && ls > listing.txt"]);
    assert.is(root.runs(), runs + 1, "only the RUN after the COPY ran");
    assert.equal(
      changed.steps.filter((step) => step.status === "done").map((step) => step.missReason),
      ['file "app/app.conf" changed', 'it builds on "[stage-2 4/5] COPY --chown=alice:alice app/ ./", which changed'],
    );
    await withImageFiles(root, "app:1", async (rootfs) => {
      assert.is(await readFile(join(rootfs, "srv/app/app.conf"), "utf8"), "config=2\n");
    });
  });
});

test("a failing RUN names the step, its line, the exit status and the log tail, and leaves the store intact", async () => {
  await withBuildRoot(async (root) => {
    const context = join(root.dir, "failing");
    await mkdir(context);
    await writeFile(join(context, "Dockerfile"), "FROM busybox\nRUN echo preparing > /prep\nRUN echo something broke >&2 && exit 7\n");
    const error = await build({ context, worker: root.worker, tags: ["bad:1"] }).catch((e: unknown) => e);
    assert.instance(error, BuildFailure);
    const failure = error as BuildFailure;
    assert.is(failure.code, "EXEC_FAILED");
    assert.is(failure.exitCode, 7);
    assert.match(failure.logTail ?? "", "something broke");
    assert.is(failure.step.location?.range.start.line, 3);
    assert.match(failure.message, "[3/3] RUN echo something broke");
    assert.not.ok(await root.worker.store.images.find("bad:1"), "no image was tagged");
    assert.ok(await root.worker.store.images.find("busybox:latest"));
    assert.equal(await mountsUnder(root.dir), []);
    // Only committed snapshots remain: the failed step's writable snapshot is gone.
    const kinds: string[] = [];
    await root.worker.snapshotter.walk((info) => void kinds.push(info.kind));
    assert.ok(kinds.every((kind) => kind === "committed"), kinds.join(","));
    // The step before the failure is cached for the next attempt.
    await writeFile(join(context, "Dockerfile"), "FROM busybox\nRUN echo preparing > /prep\nRUN cat /prep\n");
    const fixed = await build({ context, worker: root.worker, tags: ["bad:1"] });
    assert.equal(fixed.steps.map((step) => step.status), ["cached", "done"]);
  });
});

test("a step that misses says why: first build, a changed build arg, a changed command", async () => {
  await withBuildRoot(async (root) => {
    const context = join(root.dir, "args");
    await mkdir(context);
    await writeFile(join(context, "Dockerfile"), "FROM busybox\nARG FLAVOUR=plain\nRUN echo $FLAVOUR > /flavour\n");
    const first = await build({ context, worker: root.worker });
    assert.equal(first.steps.map((step) => step.missReason), [undefined, "no earlier build of this step"]);
    const second = await build({ context, worker: root.worker, buildArgs: { FLAVOUR: "spicy" } });
    assert.is(second.steps[second.steps.length - 1].missReason, 'variable "FLAVOUR" changed (build arg or ENV)');
    await writeFile(join(context, "Dockerfile"), "FROM busybox\nARG FLAVOUR=plain\nRUN echo $FLAVOUR >> /flavour\n");
    const third = await build({ context, worker: root.worker });
    assert.is(third.steps[third.steps.length - 1].missReason, "its command changed");
    const fourth = await build({ context, worker: root.worker, noCache: true });
    assert.is(fourth.steps[fourth.steps.length - 1].missReason, "--no-cache");
  });
});

test("buildWithEvents gives the progress as an async iterator that ends with the build", async () => {
  await withBuildRoot(async (root) => {
    const context = await root.fixture("multi-stage");
    const run = buildWithEvents({ context, worker: root.worker });
    const types: string[] = [];
    for await (const event of run.events) types.push(event.type);
    const result = await run.result;
    assert.is(types.filter((type) => type === "vertex-completed").length, result.steps.filter((step) => step.status === "done").length);
    assert.ok(types.includes("vertex-log") || types.includes("vertex-started"));
  });
});

test("with pull never, a base image missing from the store says how to get it", async () => {
  await withBuildRoot(async (root) => {
    const context = join(root.dir, "ctx");
    await mkdir(context);
    await writeFile(join(context, "Dockerfile"), "FROM alpine:3.19\nRUN true\n");
    const error = await build({ context, root: join(root.dir, "root"), pull: "never" }).catch((e: unknown) => e);
    assert.ok(isTsbuildError(error, "NOT_FOUND"), String(error));
    assert.match((error as Error).message, 'Cannot use base image "docker.io/library/alpine:3.19": it is not in the store');
    assert.match((error as { hint?: string }).hint ?? "", "tsbuild pull docker.io/library/alpine:3.19");
  });
});

test("COPY refuses a symlink that points out of the context", async () => {
  await withBuildRoot(async (root) => {
    const context = join(root.dir, "escape");
    await mkdir(context);
    await writeFile(join(root.dir, "outside.txt"), "host secret\n");
    await symlink("../outside.txt", join(context, "link.txt"));
    await writeFile(join(context, "Dockerfile"), "FROM busybox\nCOPY link.txt /\n");
    const error = await build({ context, worker: root.worker }).catch((e: unknown) => e);
    assert.ok(isTsbuildError(error), String(error));
    assert.match((error as Error).message, "outside the build context");
    assert.is(root.runs(), 0);
  });
});

test.after.each(async () => {
  // Nothing of a test may stay mounted (only this process's roots count: other test runs on the machine use the same prefix).
  const { listMountPoints } = await import("../../snapshotter/mount-table.js");
  const leftovers = [...(await listMountPoints())].filter((p) => [...buildRootDirs].some((dir) => p.startsWith(`${dir}/`)));
  assert.equal(leftovers, []);
});

test.run();
