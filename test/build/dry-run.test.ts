import { mkdir, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { build } from "../../build/build.js";
import { withBuildRoot } from "../solver/build-fixture.js";

test("a dry run says which steps would run and why, and runs nothing and writes no layer", async () => {
  await withBuildRoot(async (root) => {
    const context = join(root.dir, "ctx");
    await mkdir(context);
    await writeFile(join(context, "Dockerfile"), "FROM busybox\nRUN echo base > /base\nCOPY app.txt /app.txt\nRUN cat /app.txt > /copy\n");
    await writeFile(join(context, "app.txt"), "v1\n");
    await build({ context, worker: root.worker, tags: ["app:1"] });

    const unchanged = await build({ context, worker: root.worker, dryRun: true });
    assert.equal(unchanged.steps.map((step) => step.status), ["cached", "cached", "cached"]);

    await writeFile(join(context, "app.txt"), "v2\n");
    const runs = root.runs();
    const snapshots: string[] = [];
    await root.worker.snapshotter.walk((info) => void snapshots.push(info.key));
    const blobs = await readdir(join(root.dir, "root", "content", "blobs", "sha256"));
    const plan = await build({ context, worker: root.worker, dryRun: true });
    assert.equal(
      plan.steps.map((step) => [step.name.replace(/^\[\d\/\d\] /, ""), step.status, step.missReason?.kind]),
      [
        ["RUN echo base > /base", "cached", undefined],
        ["COPY app.txt /app.txt", "would-run", "file-changed"],
        ["RUN cat /app.txt > /copy", "would-run", "parent-changed"],
      ],
    );
    const copy = plan.steps[1].missReason;
    assert.equal(copy?.kind === "file-changed" ? copy.files : undefined, [{ path: "app.txt", change: "changed" }]);
    assert.is(root.runs(), runs, "no RUN ran");
    const after: string[] = [];
    await root.worker.snapshotter.walk((info) => void after.push(info.key));
    assert.equal(after.sort(), snapshots.sort(), "no snapshot was made");
    assert.equal((await readdir(join(root.dir, "root", "content", "blobs", "sha256"))).sort(), blobs.sort(), "no blob was written");

    const real = await build({ context, worker: root.worker });
    assert.equal(real.steps.map((step) => step.status), ["cached", "done", "done"], "the build did what the dry run said");
  });
});

test.run();
