// Ported from moby/buildkit frontend/dockerfile/dockerfile_args_test.go (73ed6825).
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import * as assert from "uvu/assert";
import { buildError, buildImage, buildLocal, makeContext, portedSuite } from "./ported.js";

const { test, root } = portedSuite("BuildKit dockerfile_args_test.go");

const read = (out: string, path: string) => readFile(join(out, path), "utf8");

test("testGlobalArg: an ARG before FROM names the base image's tag", async () => {
  await buildImage(root(), { Dockerfile: "ARG tag=nosuchtag\nFROM busybox:${tag}\n" }, { buildArgs: { tag: "latest" }, pull: "never" });
});

test("testGlobalArgErrors: ${FOO:?message} in a global ARG fails with the message unless FOO is given", async () => {
  const context = await makeContext(root(), { Dockerfile: 'ARG FOO=${FOO:?"custom error"}\nFROM busybox\n' });
  assert.match(await buildError(root(), context), "FOO: custom error");
  await buildImage(root(), context, { buildArgs: { FOO: "bar" } });
});

test("testArgDefaultExpansion: ${FOO:?message} in an ARG default fails unless FOO or the ARG itself is given", async () => {
  const context = await makeContext(root(), { Dockerfile: 'FROM scratch\nARG FOO\nARG BAR=${FOO:?"foo missing"}\n' });
  assert.match(await buildError(root(), context), "FOO: foo missing");
  await buildImage(root(), context, { buildArgs: { FOO: "123" } });
  await buildImage(root(), context, { buildArgs: { BAR: "123" } });
});

test("testMultiArgs: several ARGs on a line, global ones in FROM and redeclared in the stage", async () => {
  const dockerfile = 'ARG a1="foo bar" a2=box\nARG a3="$a2-foo"\nFROM busy$a2 AS build\nARG a3 a4="123 456" a1\nRUN echo -n "$a1:$a3:$a4" > /out\nFROM scratch\nCOPY --from=build /out .\n';
  const { out } = await buildLocal(root(), { Dockerfile: dockerfile });
  assert.is(await read(out, "out"), "foo bar:box-foo:123 456");
});

test("testQuotedMetaArgs: quoted global ARG values expand in later ARGs", async () => {
  const dockerfile = 'ARG a1="box"\nARG a2="$a1-foo"\nFROM busy$a1 AS build\nARG a2\nARG a3="bar-$a2"\nRUN echo -n $a3 > /out\nFROM scratch\nCOPY --from=build /out .\n';
  const { out } = await buildLocal(root(), { Dockerfile: dockerfile });
  assert.is(await read(out, "out"), "bar-box-foo");
});

test("testTargetStageNameArg: TARGETSTAGE is the target stage's name once declared", async () => {
  const dockerfile = 'FROM busybox AS base\nWORKDIR /out\nRUN echo -n "value:$TARGETSTAGE" > /out/first\nARG TARGETSTAGE\nRUN echo -n "value:$TARGETSTAGE" > /out/second\nFROM scratch AS foo\nCOPY --from=base /out/ /\nFROM scratch\nCOPY --from=base /out/ /\n';
  let { out } = await buildLocal(root(), { Dockerfile: dockerfile }, { target: "foo" });
  assert.is(await read(out, "first"), "value:");
  assert.is(await read(out, "second"), "value:foo");
  ({ out } = await buildLocal(root(), { Dockerfile: dockerfile }));
  assert.is(await read(out, "first"), "value:");
  assert.is(await read(out, "second"), "value:default");
  ({ out } = await buildLocal(root(), { Dockerfile: `${dockerfile}\tFROM scratch AS final\n\tCOPY --from=base /out/ /\n` }));
  assert.is(await read(out, "second"), "value:final");
});

test("testBuiltinArgs: proxy args reach RUN without being declared and without changing its cache key", async () => {
  const dockerfile = "FROM busybox AS build\nARG FOO\nARG BAR\nARG BAZ=bazcontent\nRUN echo -n $HTTP_PROXY::$NO_PROXY::$FOO::$BAR::$BAZ > /out\nFROM scratch\nCOPY --from=build /out /\n";
  const context = await makeContext(root(), { Dockerfile: dockerfile });
  let { out } = await buildLocal(root(), context, { buildArgs: { FOO: "foocontents", http_proxy: "hpvalue", NO_PROXY: "npvalue" } });
  assert.is(await read(out, "out"), "hpvalue::npvalue::foocontents::::bazcontent");
  ({ out } = await buildLocal(root(), context, { buildArgs: { FOO: "foocontents", http_proxy: "hpvalue2" } }));
  assert.is(await read(out, "out"), "hpvalue::npvalue::foocontents::::bazcontent", "a changed proxy alone is a cache hit");
  ({ out } = await buildLocal(root(), context, { buildArgs: { FOO: "foocontents2", http_proxy: "hpvalue2" } }));
  assert.is(await read(out, "out"), "hpvalue2::::foocontents2::::bazcontent");
});

test("testDefaultEnvWithArgs: ENV defaults from an ARG, with ${x:-default} and ${x%%pattern}", async () => {
  const dockerfile = `ARG image=idlebox
FROM busy\${image#idle} AS build
ARG my_arg
ENV my_arg "my_arg=\${my_arg:-def_val}"
ENV my_trimmed_arg "\${my_arg%%e*}"
COPY myscript.sh myscript.sh
RUN ./myscript.sh $my_arg $my_trimmed_arg
FROM scratch
COPY --from=build /out /out
`;
  const context = await makeContext(root(), { Dockerfile: dockerfile, "myscript.sh": { data: "#!/usr/bin/env sh\necho -n $my_arg $* > /out\n", mode: 0o700 } });
  const cases: Array<[Record<string, string>, string]> = [
    [{}, "my_arg=def_val my_arg=def_val my_arg=d"],
    [{ my_arg: "" }, "my_arg=def_val my_arg=def_val my_arg=d"],
    [{ my_arg: "override" }, "my_arg=override my_arg=override my_arg=ov"],
  ];
  for (const [buildArgs, expected] of cases) {
    const { out } = await buildLocal(root(), context, { buildArgs });
    assert.is(await read(out, "out"), expected, JSON.stringify(buildArgs));
  }
});

test("testEmptyStringArgInEnv: an ARG with an empty default is in RUN's environment, one without a value is not", async () => {
  const { out } = await buildLocal(root(), { Dockerfile: "FROM busybox AS build\nARG FOO\nARG BAR=\nRUN env > env.txt\nFROM scratch\nCOPY --from=build env.txt .\n" });
  const env = await read(out, "env.txt");
  assert.match(env, "BAR=");
  assert.not.match(env, "FOO=");
});

test("testEnvEmptyFormatting: ENV's legacy form keeps % sequences", async () => {
  await buildImage(root(), { Dockerfile: "FROM busybox AS build\nENV myenv foo%sbar\nRUN [ \"$myenv\" = 'foo%sbar' ]\n" });
});

test.run();
