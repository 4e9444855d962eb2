// Ported from moby/buildkit frontend/dockerfile/dockerfile_multistage_test.go and
// dockerfile_cmd_test.go (73ed6825).
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import * as assert from "uvu/assert";
import { buildError, buildImage, buildLocal, makeContext, portedSuite } from "./ported.js";

const { test, root } = portedSuite("BuildKit dockerfile_multistage_test.go and dockerfile_cmd_test.go");

test("testMultiStageImplicitFrom: COPY --from an image name, and a stage name that is also an image name", async () => {
  let { out } = await buildLocal(root(), { Dockerfile: "FROM scratch\nCOPY --from=busybox /etc/passwd test\n" });
  assert.match(await readFile(join(out, "test"), "utf8"), "root");
  ({ out } = await buildLocal(root(), { Dockerfile: "FROM busybox AS golang\nRUN mkdir -p /usr/bin && echo -n foo > /usr/bin/go\nFROM scratch\nCOPY --from=golang /usr/bin/go go\n" }));
  assert.match(await readFile(join(out, "go"), "utf8"), "foo");
});

test("testMultiStageCaseInsensitive: stage names and --target ignore case", async () => {
  const dockerfile = "FROM busybox AS STAge0\nCOPY foo bar\nFROM busybox AS staGE1\nCOPY --from=staGE0 bar baz\nFROM busybox\nCOPY --from=stage1 baz bax\n";
  const { out } = await buildLocal(root(), { Dockerfile: dockerfile, foo: "foo-contents" }, { target: "Stage1" });
  assert.match(await readFile(join(out, "baz"), "utf8"), "foo-contents");
});

test("testOutOfOrderStage: COPY --from a stage defined later is refused", async () => {
  for (const src of ["/", "/d2"]) {
    const message = await buildError(root(), { Dockerfile: `FROM busybox AS target\nCOPY --from=build ${src} /out\nFROM busybox AS build\nCOPY /Dockerfile /d2\nFROM target\n` });
    assert.match(message, "cannot copy from stage");
    assert.match(message, "needs to be defined before current stage");
  }
});

test("testEmptyStages: a Dockerfile of ARGs only has no stages to build", async () => {
  assert.match(await buildError(root(), { Dockerfile: "ARG foo=bar" }), "dockerfile contains no stages to build");
});

test("testCmdShell: ENTRYPOINT in shell form uses SHELL and clears the base image's CMD", async () => {
  await buildImage(root(), { Dockerfile: 'FROM scratch\nCMD ["test"]\n' }, { tags: ["cmdoverridetest:latest"] });
  const result = await buildImage(root(), { Dockerfile: 'FROM cmdoverridetest:latest\nSHELL ["ls"]\nENTRYPOINT my entrypoint\n' });
  assert.is(result.config.config?.Cmd ?? null, null);
  assert.equal(result.config.config?.Entrypoint, ["ls", "my entrypoint"]);
});

test("testDefaultShellAndPath: from scratch, shell form is /bin/sh -c and PATH is the default", async () => {
  // BuildKit builds two platforms; only the host's can be built here.
  const result = await buildImage(root(), { Dockerfile: "FROM scratch\nENTRYPOINT foo bar\nCOPY Dockerfile .\n" });
  assert.equal(result.config.config?.Entrypoint, ["/bin/sh", "-c", "foo bar"]);
  assert.equal(result.config.config?.Env, ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]);
  assert.is(result.config.rootfs.diff_ids.length, 1);
});

test("testDockerfileScratchConfig (dockerfile_image_test.go): an image from scratch has a full config", async () => {
  // BuildKit reads the config back from containerd's store; build() returns it.
  const { config } = await buildImage(root(), { Dockerfile: "FROM scratch\nENV foo=bar\n" });
  assert.ok(config.os !== "" && config.architecture !== "");
  assert.ok((config.config?.WorkingDir ?? "") !== "", "WorkingDir is set");
  assert.is(config.rootfs.type, "layers");
  assert.is(config.rootfs.diff_ids.length, 0);
  assert.is(config.history?.length, 1);
  assert.match(config.history?.[0].created_by ?? "", "ENV foo=bar");
  assert.is(config.history?.[0].empty_layer, true);
  assert.ok(config.config?.Env?.includes("foo=bar"));
  assert.ok(config.config?.Env?.some((env) => env.startsWith("PATH=")));
});

test("testIgnoreEntrypoint: RUN does not go through ENTRYPOINT", async () => {
  await buildImage(root(), { Dockerfile: 'FROM busybox\nENTRYPOINT ["/nosuchcmd"]\nRUN ["ls"]\n' });
});

test("testInvalidJSONCommands: text after a JSON array is shell form", async () => {
  assert.match(await buildError(root(), { Dockerfile: 'FROM busybox\nRUN ["echo", "hello"]this is invalid\n' }), "this is invalid");
  const result = await buildImage(root(), { Dockerfile: "FROM busybox\nENTRYPOINT []random string\n" });
  assert.equal(result.config.config?.Entrypoint, ["/bin/sh", "-c", "[]random string"]);
});

test("testDockerfileInvalidCommand: a failing RUN says which process failed, in BuildKit's words", async () => {
  const message = await buildError(root(), { Dockerfile: "\tFROM busybox\n\tRUN invalidcmd\n" });
  assert.match(message, "/bin/sh -c invalidcmd");
  assert.match(message, "did not complete successfully");
  assert.match(message.split("\n")[0], 'process "/bin/sh -c invalidcmd" did not complete successfully: exit code: 127');
});

test("testDockerfileInvalidInstruction: an unknown instruction suggests the nearest one", async () => {
  const message = await buildError(root(), { Dockerfile: 'FROM scratch\nFNTRYPOINT ["/bin/sh", "-c", "echo invalidinstruction"]\n' });
  assert.match(message, "unknown instruction: FNTRYPOINT");
  assert.match(message, "did you mean ENTRYPOINT?");
});

test("tsbuild: other errors carry BuildKit's phrase on their first line", async () => {
  const first = async (dockerfile: string, options = {}) => (await buildError(root(), await makeContext(root(), { Dockerfile: dockerfile }), options)).split("\n")[0];
  assert.match(await first("FROM busybox\nRUN --mont=type=cache,target=/x true\n"), "unknown flag: --mont (did you mean mount?)");
  assert.match(await first("FROM busybox\nRUN --mount=type=secret,id=mysecret,required true\n"), "secret mysecret: not found");
  assert.match(await first("FROM busybox\nCOPY /test/nonexistent-file /x\n"), /failed to calculate checksum of ref .*: "\/test\/nonexistent-file": not found/);
});

test.run();
