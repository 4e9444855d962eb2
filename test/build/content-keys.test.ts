import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { build } from "../../build/build.js";
import { withBuildRoot } from "../solver/build-fixture.js";

const DOCKERFILE = `FROM busybox AS build
ARG V
RUN echo "$V" > /version && echo same > /out.txt

FROM busybox
COPY --from=build /out.txt /out.txt
RUN --mount=type=bind,from=build,source=/out.txt,target=/in.txt cat /in.txt > /read.txt
RUN cat /out.txt > /copy.txt
`;

test("a stage that rebuilt to the same files does not make the steps reading it run", async () => {
  await withBuildRoot(async (root) => {
    const context = join(root.dir, "ctx");
    await mkdir(context);
    await writeFile(join(context, "Dockerfile"), DOCKERFILE);
    await build({ context, worker: root.worker, buildArgs: { V: "1" } });
    const runs = root.runs();
    const second = await build({ context, worker: root.worker, buildArgs: { V: "2" } });
    assert.is(root.runs(), runs + 1, "only the build stage's RUN ran");
    const status = (text: string) => second.steps.find((step) => step.name.includes(text))?.status;
    assert.is(status("RUN echo"), "done");
    assert.is(status("COPY --from=build"), "cached", "the COPY was served by the content it reads");
    assert.is(status("--mount=type=bind,from=build"), "cached", "so was the RUN that bind-mounts it");
    assert.is(status("RUN cat /out.txt"), "cached");

    await writeFile(join(context, "Dockerfile"), DOCKERFILE.replace("echo same", "echo different"));
    const third = await build({ context, worker: root.worker, buildArgs: { V: "2" } });
    assert.equal(third.steps.filter((step) => step.status === "done" && !step.name.includes("] FROM ")).length, 4, "other content: every step after it runs");
  });
});

test.run();
