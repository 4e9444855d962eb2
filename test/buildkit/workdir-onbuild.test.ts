// Ported from moby/buildkit frontend/dockerfile/dockerfile_workdir_test.go and
// dockerfile_onbuild_test.go (73ed6825). BuildKit pushes base images to a registry and pulls
// them back; here they are tagged in the local store, which `FROM` reads first.
import { lstat, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import * as assert from "uvu/assert";
import type { BuildRoot } from "../solver/build-fixture.js";
import { buildImage, buildLocal, makeContext, portedSuite } from "./ported.js";

const { test, root } = portedSuite("BuildKit dockerfile_workdir_test.go and dockerfile_onbuild_test.go");

/** A user and its group, as busybox's `adduser -D` (Debian's static busybox has no adduser). */
const ADDUSER = "RUN echo 'user:x:1002:1002::/home/user:/bin/sh' >> /etc/passwd && echo 'user:x:1002:' >> /etc/group";

/** Stands in for docker.io's alpine where a test reads /etc/alpine-release. */
async function fakeAlpine(buildRoot: BuildRoot): Promise<void> {
  await buildImage(buildRoot, { Dockerfile: "FROM busybox\nRUN echo 3.20.0 > /etc/alpine-release\n" }, { tags: ["alpine:latest"] });
}

test("testWorkdirCreatesDir: WORKDIR creates the directory even when a later WORKDIR moves on", async () => {
  const { out } = await buildLocal(root(), { Dockerfile: "FROM scratch\nWORKDIR /foo\nWORKDIR /\n" });
  assert.ok((await lstat(join(out, "foo"))).isDirectory());
});

test("testWorkdirSourceDateEpochReproducible: with SOURCE_DATE_EPOCH, WORKDIR gives the same OCI image twice", async () => {
  const epoch = String(Date.UTC(2023, 0, 10, 15, 34, 56) / 1000);
  const context = await makeContext(root(), { Dockerfile: "FROM busybox\nWORKDIR /mydir\n" });
  const outputs: Buffer[] = [];
  for (const name of ["one.tar", "two.tar"]) {
    const dest = join(root().dir, name);
    // --no-cache stands in for BuildKit's prune between the two builds: the WORKDIR runs again.
    await buildLocal(root(), context, { buildArgs: { SOURCE_DATE_EPOCH: epoch }, noCache: true, output: { type: "oci", dest } });
    outputs.push(await readFile(dest));
  }
  assert.ok(outputs[0].equals(outputs[1]), "both OCI archives are byte for byte the same");
});

test("testWorkdirUser: WORKDIR creates the directory as USER", async () => {
  await buildImage(root(), { Dockerfile: `FROM busybox\n${ADDUSER}\nUSER user\nWORKDIR /mydir\nRUN [ "$(stat -c "%U %G" /mydir)" == "user user" ]\n` });
});

test("testWorkdirCopyIgnoreRelative: COPY --from reads a relative source from the stage's root, not its WORKDIR", async () => {
  await buildImage(root(), { Dockerfile: "FROM scratch AS base\nWORKDIR /foo\nCOPY Dockerfile /\nFROM scratch\n# relative path still loaded as absolute\nCOPY --from=base Dockerfile .\n" });
});

test("testWorkdirExists: WORKDIR leaves an existing directory's owner alone", async () => {
  await buildImage(root(), { Dockerfile: `FROM busybox\n${ADDUSER}\nRUN mkdir /mydir && chown user:user /mydir\nWORKDIR /mydir\nRUN [ "$(stat -c "%U %G" /mydir)" == "user user" ]\n` });
});

test("testOnBuildCleared: triggers run in the child build and are not passed on to the grandchild", async () => {
  await buildImage(root(), { Dockerfile: "FROM busybox\nONBUILD RUN mkdir -p /out && echo -n 11 >> /out/foo\n" }, { tags: ["testonbuild:base"] });
  await buildImage(root(), { Dockerfile: "FROM testonbuild:base\n" }, { tags: ["testonbuild:child"] });
  const { out } = await buildLocal(root(), { Dockerfile: "FROM testonbuild:child AS base\nFROM scratch\nCOPY --from=base /out /\n" });
  assert.is(await readFile(join(out, "foo"), "utf8"), "11");
});

test("testOnBuildWithChildStage: triggers run once, in the stage that names the image, not again in stages built on it", async () => {
  await buildImage(root(), { Dockerfile: "FROM busybox\nONBUILD RUN mkdir -p /out && echo -n yes >> /out/didrun\n" }, { tags: ["testonbuildstage:base"] });
  const dockerfile = `FROM testonbuildstage:base AS base
RUN [ -f /out/didrun ] && touch /step1
RUN rm /out/didrun
RUN [ ! -f /out/didrun ] && touch /step2
FROM base AS child
RUN [ ! -f /out/didrun ] && touch /step3
FROM scratch
COPY --from=child /step* /
`;
  const { out } = await buildLocal(root(), { Dockerfile: dockerfile });
  for (const step of ["step1", "step2", "step3"]) await stat(join(out, step));
});

test("testOnBuildInheritedStageRun: a trigger of a stage runs in a stage built on it", async () => {
  const dockerfile = "FROM busybox AS base\nONBUILD RUN mkdir -p /out && echo -n 11 >> /out/foo\nFROM base AS mid\nRUN cp /out/foo /out/bar\nFROM scratch\nCOPY --from=mid /out/bar /\n";
  const { out } = await buildLocal(root(), { Dockerfile: dockerfile });
  assert.is(await readFile(join(out, "bar"), "utf8"), "11");
});

test("testOnBuildInheritedStageWithFrom: a trigger with COPY --from of another stage", async () => {
  const dockerfile = `FROM busybox AS src
RUN mkdir -p /in && echo -n 12 > /in/file
FROM busybox AS base
ONBUILD COPY --from=src /in/file /out/foo
FROM base AS mid
RUN cp /out/foo /out/bar
FROM scratch
COPY --from=mid /out/bar /
`;
  const { out } = await buildLocal(root(), { Dockerfile: dockerfile });
  assert.is(await readFile(join(out, "bar"), "utf8"), "12");
});

test("testOnBuildNewDeps: triggers bring in images and stages the child did not name", async () => {
  await fakeAlpine(root());
  await buildImage(root(), { Dockerfile: "FROM busybox\nONBUILD COPY --from=alpine /etc/alpine-release /out/alpine-release2\n" }, { tags: ["testonbuilddeps:base"] });
  let { out } = await buildLocal(root(), { Dockerfile: "FROM testonbuilddeps:base AS base\nRUN cat /out/alpine-release2 > /out/alpine-release3\nFROM scratch\nCOPY --from=base /out /\n" });
  assert.ok((await readFile(join(out, "alpine-release3"))).length > 5);

  await buildImage(
    root(),
    { Dockerfile: "FROM alpine\nONBUILD RUN --mount=type=bind,target=/in,from=inputstage mkdir /out && cat /in/foo > /out/bar && cat /in/out/alpine-release2 > /out/bar2\n" },
    { tags: ["testonbuilddeps:base2"] },
  );
  const dockerfile = `FROM testonbuilddeps:base AS inputstage
RUN cat /out/alpine-release2 > /out/alpine-release4
RUN echo -n foo > /foo
FROM testonbuilddeps:base2 AS base
RUN echo -n bar3 > /out/bar3
FROM scratch
COPY --from=base /out /
`;
  ({ out } = await buildLocal(root(), { Dockerfile: dockerfile }));
  assert.is(await readFile(join(out, "bar"), "utf8"), "foo");
  assert.ok((await readFile(join(out, "bar2"))).length > 5);
  assert.is(await readFile(join(out, "bar3"), "utf8"), "bar3");
});

test("testOnBuildWithCacheMount: a trigger's cache mount is the child's cache mount", async () => {
  await buildImage(root(), { Dockerfile: "FROM busybox\nONBUILD RUN --mount=type=cache,target=/cache echo -n 42 >> /cache/foo && echo -n 11 >> /bar\n" }, { tags: ["testonbuildcache:base"] });
  await buildImage(root(), { Dockerfile: 'FROM testonbuildcache:base\nRUN --mount=type=cache,target=/cache [ "$(cat /cache/foo)" = "42" ] && [ "$(cat /bar)" = "11" ]\n' });
});

test.run();
