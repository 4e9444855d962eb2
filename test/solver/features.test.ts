import { execFileSync } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { build } from "../../build/build.js";
import { withBuildRoot } from "./build-fixture.js";

/** `path type mode uid:gid` for everything under `dir`, sorted. */
function listing(dir: string): string[] {
  return execFileSync("find", [".", "-mindepth", "1", "-printf", "%P %y %m %U:%G\\n"], { cwd: dir, encoding: "utf8" }).trim().split("\n").sort();
}

test("heredocs, COPY --from an image, a whiteout, USER, LABEL, EXPOSE and ENTRYPOINT give the files and config BuildKit would", async () => {
  await withBuildRoot(async (root) => {
    const baseOut = join(root.dir, "base");
    await build({ context: await root.fixture("onbuild-base"), worker: root.worker, output: { type: "local", dest: baseOut } });
    const out = join(root.dir, "out");
    const result = await build({ context: await root.fixture("features"), worker: root.worker, output: { type: "local", dest: out } });

    const base = new Set(listing(baseOut).map((line) => line.split(" ")[0]));
    const paths = listing(out).map((line) => line.split(" ")[0]);
    const added = listing(out).filter((line) => !base.has(line.split(" ")[0]));
    assert.equal(added, ["copied-group f 644 0:0", "etc/motd f 644 0:0", "opt d 755 0:0", "opt/data d 755 0:0", "opt/data/status f 644 0:0"], "every file the build added");
    const removed = [...base].filter((path) => !paths.includes(path));
    assert.equal(removed, ["root"], "rm -r /root in a later layer is a whiteout");
    assert.is(await readFile(join(out, "etc/motd"), "utf8"), "Welcome to the fixture\n");
    assert.is(await readFile(join(out, "copied-group"), "utf8"), await readFile(join(out, "etc/group"), "utf8"));
    assert.is(await readFile(join(out, "opt/data/status"), "utf8"), "gone\n");

    const { config } = result;
    assert.equal(config.config?.Labels, { "org.example.purpose": "fixture" });
    assert.equal(config.config?.ExposedPorts, { "8080/tcp": {} });
    assert.is(config.config?.User, "bob:staff");
    assert.equal(config.config?.Entrypoint, ["/bin/sh", "-c"]);
    assert.equal(config.config?.Cmd, ["id"]);
    assert.equal(
      config.history?.filter((entry) => !entry.empty_layer).map((entry) => entry.created_by?.split("\n")[0]),
      [undefined, "RUN /bin/sh -c set -e", "COPY <<EOT /etc/motd # buildkit", "COPY /etc/group /copied-group # buildkit", "RUN /bin/sh -c rm /opt/data/heredoc.txt && echo gone > /opt/data/status && rm -r /root # buildkit"],
    );
    assert.is(config.rootfs.diff_ids.length, 5);
  });
});

test("ONBUILD triggers of a base image run in the build that uses it", async () => {
  await withBuildRoot(async (root) => {
    const base = await build({ context: await root.fixture("onbuild-base"), worker: root.worker, tags: ["onbuild-base:1"] });
    assert.equal(base.config.config?.OnBuild, ["COPY trigger.txt /from-trigger.txt", "RUN echo triggered > /triggered.txt"]);
    const out = join(root.dir, "out");
    const child = await build({ context: await root.fixture("onbuild-child"), worker: root.worker, output: { type: "local", dest: out } });
    assert.is(await readFile(join(out, "both.txt"), "utf8"), "triggered\ntrigger file\n");
    assert.is(child.config.config?.OnBuild, undefined, "triggers do not pass on to grandchildren");
  });
});

test.run();
