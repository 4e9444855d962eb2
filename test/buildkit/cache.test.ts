// Ported from moby/buildkit frontend/dockerfile/dockerfile_cache_test.go (73ed6825).
import { readFile, rename } from "node:fs/promises";
import { join } from "node:path";
import * as assert from "uvu/assert";
import { buildError, buildImage, buildLocal, makeContext, portedSuite } from "./ported.js";

const { test, root } = portedSuite("BuildKit dockerfile_cache_test.go");

const read = (out: string, path: string) => readFile(join(out, path), "utf8");

test("testReproducibleIDs: the same build twice gives the same image", async () => {
  const context = await makeContext(root(), { Dockerfile: "FROM busybox\nENV foo=bar\nCOPY foo /\nRUN echo bar > bar\n", foo: "foo-contents" });
  const first = await buildImage(root(), context, { tags: ["dockerfileids:test"] });
  const second = await buildImage(root(), context, { tags: ["dockerfileids2:test"] });
  assert.is(second.manifestDigest, first.manifestDigest);
});

test("testNoCache: --no-cache runs every step again, --no-cache=STAGE only that stage's", async () => {
  const dockerfile = `FROM busybox AS s0
RUN cat /dev/urandom | head -c 100 | sha256sum | tee unique
FROM busybox AS s1
RUN cat /dev/urandom | head -c 100 | sha256sum | tee unique2
FROM scratch
COPY --from=s0 unique /
COPY --from=s1 unique2 /
`;
  const context = await makeContext(root(), { Dockerfile: dockerfile });
  const one = (await buildLocal(root(), context)).out;
  const two = (await buildLocal(root(), context, { noCache: true })).out;
  assert.is.not(await read(two, "unique"), await read(one, "unique"));
  assert.is.not(await read(two, "unique2"), await read(one, "unique2"));
  const three = (await buildLocal(root(), context, { noCache: ["s1"] })).out;
  assert.is(await read(three, "unique"), await read(two, "unique"));
  assert.is.not(await read(three, "unique2"), await read(one, "unique2"));
});

test("tsbuild: under --no-cache no step of the stage is reported CACHED, WORKDIR included", async () => {
  const context = await makeContext(root(), { Dockerfile: "FROM busybox\nWORKDIR /app\nRUN true\n" });
  await buildImage(root(), context);
  const again = await buildImage(root(), context, { noCache: true });
  const workdir = again.steps.find((step) => step.name.includes("WORKDIR /app"));
  assert.ok(workdir !== undefined);
  assert.is.not(workdir.status, "cached");
  assert.equal(again.steps.filter((step) => step.status === "cached").map((step) => step.name), []);
});

test("testCacheMountModeNoCache: --no-cache starts cache mounts afresh, and their contents are kept for later builds", async () => {
  const dockerfile = "FROM busybox AS base\nARG FOO=abc\nRUN --mount=type=cache,target=/cache,mode=0773 touch /cache/$FOO && ls -l /cache | wc -l > /out\nFROM scratch\nCOPY --from=base /out /\n";
  const context = await makeContext(root(), { Dockerfile: dockerfile });
  assert.is(await read((await buildLocal(root(), context, { noCache: true })).out, "out"), "2\n");
  assert.is(await read((await buildLocal(root(), context, { noCache: true, buildArgs: { FOO: "def" } })).out, "out"), "2\n");
  assert.is(await read((await buildLocal(root(), context, { buildArgs: { FOO: "ghi" } })).out, "out"), "3\n");
});

test("testWildcardRenameCache: a wildcard COPY notices a renamed file", async () => {
  const context = await makeContext(root(), { Dockerfile: "FROM busybox\nCOPY file* /files/\nRUN ls /files/file1\n", file1: "foo" });
  await buildImage(root(), context);
  await rename(join(context, "file1"), join(context, "file2"));
  await buildError(root(), context);
});

test.run();
