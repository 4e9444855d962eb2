import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { build } from "../../build/build.js";
import { mountsUnder, withBuildRoot } from "./build-fixture.js";

test("a stage read by several COPY --from is mounted once for the build, and unmounted at its end", async () => {
  await withBuildRoot(async (root) => {
    const context = join(root.dir, "views");
    await mkdir(context);
    await writeFile(
      join(context, "Dockerfile"),
      "FROM busybox AS a\nRUN echo one > /one && echo two > /two\nFROM busybox\nCOPY --from=a /one /one\nCOPY --from=a /two /two\nRUN cat /one /two > /both\n",
    );
    // The real snapshotter, watched: which snapshots get read-only views.
    const snapshotter = root.worker.snapshotter;
    const viewed: string[] = [];
    const view = snapshotter.view.bind(snapshotter);
    snapshotter.view = async (key, parent, options) => {
      viewed.push(parent);
      return view(key, parent, options);
    };
    try {
      const result = await build({ context, worker: root.worker });
      // Each COPY reads the stage twice (its content key, then the copy): one view for all four.
      assert.is(viewed.length, 1, viewed.join("\n"));
      assert.equal(result.steps.filter((step) => step.name.includes("COPY --from=a")).map((step) => step.status), ["done", "done"]);
    } finally {
      snapshotter.view = view;
    }
    assert.equal(await mountsUnder(root.dir), []);
  });
});

test.run();
