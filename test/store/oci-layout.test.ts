import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { openStore } from "../../store/store.js";
import { withTempDir } from "./temp-dir.js";
import { makeLayer, writeTinyImage } from "./tiny-image.js";

const run = promisify(execFile);

test("skopeo reads an image tsbuild stored, by its name, from <root>/content", async () => {
  await withTempDir(async (root) => {
    const store = await openStore({ root });
    const image = await writeTinyImage(store, [await makeLayer({ "bin/hello": "#!/bin/sh\necho hi\n", "etc/motd": "tiny\n" })]);
    await store.images.tag("tiny:1.0", image.manifest);
    await store.images.tag("localhost:5000/team/tiny:dev", image.manifest);

    const { stdout } = await run("skopeo", ["inspect", `oci:${root}/content:docker.io/library/tiny:1.0`]);
    const inspected = JSON.parse(stdout);
    assert.is(inspected.Digest, image.manifest);
    assert.equal(inspected.Layers, image.layers);
    assert.is(inspected.Architecture, "amd64");
    assert.is(inspected.Os, "linux");
    assert.equal(inspected.Env, ["PATH=/bin"]);

    const config = JSON.parse((await run("skopeo", ["inspect", "--config", `oci:${root}/content:localhost:5000/team/tiny:dev`])).stdout);
    assert.equal(config.rootfs.diff_ids, image.diffIds);
  });
});

test("umoci lists the names in index.json, and a removed name disappears from it", async () => {
  await withTempDir(async (root) => {
    const store = await openStore({ root });
    const image = await writeTinyImage(store, [await makeLayer({ f: "f" })]);
    await store.images.tag("a", image.manifest);
    await store.images.tag("b:2", image.manifest);
    const before = (await run("umoci", ["ls", "--layout", `${root}/content`])).stdout.trim().split("\n").sort();
    assert.equal(before, ["docker.io/library/a:latest", "docker.io/library/b:2"]);
    await store.removeImage("a");
    const after = (await run("umoci", ["ls", "--layout", `${root}/content`])).stdout.trim().split("\n");
    assert.equal(after, ["docker.io/library/b:2"]);
  });
});

test("an image another tool copies into the layout shows up under a normalised name", async () => {
  await withTempDir(async (root) => {
    const store = await openStore({ root });
    const image = await writeTinyImage(store, [await makeLayer({ g: "g" })]);
    await store.images.tag("src", image.manifest);
    await run("skopeo", ["copy", `oci:${root}/content:docker.io/library/src:latest`, `oci:${root}/content:copied`]);
    const copied = await store.images.get("copied");
    assert.is(copied.digest, image.manifest);
    assert.equal(copied.familiarNames, ["copied:latest", "src:latest"]);
    assert.is((await store.fsck()).ok, true);
  });
});

test.run();
