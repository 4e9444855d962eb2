import { test } from "uvu";
import * as assert from "uvu/assert";
import { DockerfileSyntaxError } from "../../parser/syntax-error.js";
import { convert, execs, rejection } from "./convert-fixture.js";

const envOf = async (text: string, options: Parameters<typeof convert>[1] = {}) => {
  const graph = await convert(text, options);
  return execs(graph)[0].definition.env;
};

test("a meta ARG is visible to FROM, expanded against earlier meta ARGs", async () => {
  const graph = await convert("ARG NAME=alpine\nARG TAG=3.19\nARG REF=${NAME}:${TAG}\nFROM $REF\n");
  assert.equal(graph.resolver.calls, ["docker.io/library/alpine:3.19"]);
});

test("a --build-arg overrides a meta ARG's default in FROM", async () => {
  const graph = await convert("ARG TAG=3.19\nFROM alpine:${TAG}\n", { buildArgs: { TAG: "latest" } });
  assert.equal(graph.resolver.calls, ["docker.io/library/alpine:latest"]);
});

test("a meta ARG is not in a stage's RUN environment until the stage declares it", async () => {
  const env = await envOf("ARG V=1\nFROM scratch\nRUN echo\n");
  assert.not.ok(env.some((e) => e.startsWith("V=")));
});

test("ARG NAME without a value inside a stage inherits the meta ARG's value", async () => {
  const env = await envOf("ARG V=1\nFROM scratch\nARG V\nRUN echo\n");
  assert.ok(env.includes("V=1"));
});

test("a --build-arg overrides a stage ARG's default", async () => {
  const env = await envOf("FROM scratch\nARG V=default\nRUN echo\n", { buildArgs: { V: "given" } });
  assert.ok(env.includes("V=given"));
});

test("a stage ARG default is expanded with the stage's environment", async () => {
  const env = await envOf("FROM scratch\nENV BASE=/opt\nARG DIR=$BASE/app\nRUN echo\n");
  assert.ok(env.includes("DIR=/opt/app"));
});

test("ENV after ARG of the same name wins in RUN and in the image", async () => {
  const graph = await convert("FROM scratch\nARG A=from-arg\nENV A=from-env\nRUN echo $A\n");
  assert.ok(execs(graph)[0].definition.env.includes("A=from-env"));
  assert.not.ok(execs(graph)[0].definition.env.includes("A=from-arg"));
  assert.ok(graph.image.config.Env?.includes("A=from-env"));
});

test("ARG values are in RUN's environment but not in the image config", async () => {
  const graph = await convert("FROM scratch\nARG SECRETISH=1\nRUN echo\n");
  assert.ok(execs(graph)[0].definition.env.includes("SECRETISH=1"));
  assert.not.ok(graph.image.config.Env?.some((e) => e.startsWith("SECRETISH")));
});

test("RUN history lists the stage's build args with their values as BuildKit does", async () => {
  const graph = await convert("FROM scratch\nARG A=1 B\nENV A=2\nRUN echo hi\n");
  const history = graph.image.history?.map((h) => h.created_by);
  assert.equal(history, ["ARG A=1 B", "ENV A=2", "RUN |2 A=2 B= /bin/sh -c echo hi # buildkit"]);
});

test("the platform args exist only where declared, with the host's values", async () => {
  const undeclared = await envOf("FROM scratch\nRUN echo\n");
  assert.not.ok(undeclared.some((e) => e.startsWith("TARGETARCH=")));
  const declared = await envOf("FROM scratch\nARG TARGETPLATFORM TARGETOS TARGETARCH TARGETVARIANT BUILDPLATFORM BUILDARCH\nRUN echo\n");
  for (const expected of ["TARGETPLATFORM=linux/amd64", "TARGETOS=linux", "TARGETARCH=amd64", "TARGETVARIANT=", "BUILDPLATFORM=linux/amd64", "BUILDARCH=amd64"]) {
    assert.ok(declared.includes(expected), expected);
  }
});

test("the platform args are visible to FROM without an ARG", async () => {
  const graph = await convert("FROM --platform=$BUILDPLATFORM alpine:3.19\n");
  assert.equal(graph.resolver.calls, ["docker.io/library/alpine:3.19"]);
});

test("proxy build args reach RUN outside its cache-keyed definition and are not reported unused", async () => {
  const graph = await convert("FROM scratch\nRUN echo\n", { buildArgs: { HTTP_PROXY: "http://proxy:3128", no_proxy: "localhost" } });
  const run = execs(graph)[0];
  assert.equal(run.proxyEnv, { HTTP_PROXY: "http://proxy:3128", http_proxy: "http://proxy:3128", NO_PROXY: "localhost", no_proxy: "localhost" });
  assert.not.ok(JSON.stringify(run.definition).includes("proxy:3128"));
  assert.equal(graph.warnings, []);
});

test("a build arg no ARG declares is reported as unused", async () => {
  const graph = await convert("ARG USED\nFROM scratch\nARG ALSO\n", { buildArgs: { USED: "1", ALSO: "2", NOPE: "3", ZZZ: "4" } });
  assert.equal(graph.warnings.map((w) => [w.code, w.message]), [["unused-build-arg", "One or more build-args [NOPE ZZZ] were not consumed"]]);
});

test("RUN command text is left for the shell; only its step name is expanded", async () => {
  const graph = await convert("FROM scratch\nENV GREETING=hi\nRUN echo $GREETING $UNSET\n");
  const run = execs(graph)[0];
  assert.equal(run.definition.args, ["/bin/sh", "-c", "echo $GREETING $UNSET"]);
  assert.is(run.name, "[1/1] RUN echo hi $UNSET");
});

test("a blank base name after expansion is an error at the FROM", async () => {
  const error = await rejection(() => convert("ARG IMAGE\nFROM $IMAGE\n"));
  assert.instance(error, DockerfileSyntaxError);
  assert.is(error.reason, "base name ($IMAGE) should not be blank");
  assert.is(error.hint, "Give FROM an image, or set the ARG it uses");
  assert.is(error.line, 2);
});

test("the escape directive's token is used for expansion", async () => {
  const graph = await convert("# escape=`\nFROM scratch\nENV A=`$notvar\n");
  assert.ok(graph.image.config.Env?.includes("A=$notvar"));
});

test("FROM using an ARG not declared before the first FROM warns, and sees it empty", async () => {
  const graph = await convert("FROM alpine:3.19${SUFFIX}\nARG SUFFIX=-x\n");
  assert.equal(graph.resolver.calls, ["docker.io/library/alpine:3.19"]);
  assert.equal(graph.warnings.map((w) => [w.code, w.message, w.location?.range.start.line]), [["undefined-arg-in-from", "FROM argument 'SUFFIX' is not declared", 1]]);
});

test("FROM using a declared meta ARG without a value gives no undeclared warning", async () => {
  const graph = await convert("ARG SUFFIX\nFROM alpine:3.19${SUFFIX}\n");
  assert.equal(graph.warnings, []);
});

test.run();
