import { test } from "uvu";
import * as assert from "uvu/assert";
import { TsbuildError } from "../../errors.js";
import { DockerfileSyntaxError } from "../../parser/syntax-error.js";
import { PIN, alpineConfig, convert, execs, files, rejection, vertexById, vertexNamed } from "./convert-fixture.js";

const MULTI = [
  "FROM golang:1.22 AS build",
  "WORKDIR /src",
  "COPY . .",
  "RUN go build -o /out/app",
  "",
  "FROM alpine:3.19 AS test",
  "RUN echo testing",
  "",
  "FROM scratch",
  "COPY --from=build /out/app /app",
  'ENTRYPOINT ["/app"]',
  "",
].join("\n");

test("stages are named like BuildKit's steps: name or stage-N, index and total", async () => {
  const graph = await convert(MULTI);
  assert.equal(
    graph.vertices.map((v) => v.name),
    [
      `[build 1/4] FROM docker.io/library/golang:1.22@${PIN}`,
      "[build 2/4] WORKDIR /src",
      "[internal] load build context",
      "[build 3/4] COPY . .",
      "[build 4/4] RUN go build -o /out/app",
      "scratch",
      "[stage-2 1/1] COPY --from=build /out/app /app",
    ],
  );
  assert.equal(graph.target, { name: "stage-2", index: 2 });
});

test("a stage the target does not need is left out of the graph and never resolved", async () => {
  const graph = await convert(MULTI);
  assert.not.ok(graph.vertices.some((v) => v.name.includes("testing")));
  assert.equal(graph.resolver.calls, ["docker.io/library/golang:1.22"]);
});

test("--target builds that stage and what it needs, and only that", async () => {
  const graph = await convert(MULTI, { target: "test" });
  assert.equal(graph.vertices.map((v) => v.name), [`[test 1/2] FROM docker.io/library/alpine:3.19@${PIN}`, "[test 2/2] RUN echo testing"]);
  assert.equal(graph.resolver.calls, ["docker.io/library/alpine:3.19"]);
});

test("an unknown --target is a usage error that suggests the nearest stage", async () => {
  const error = await rejection(() => convert(MULTI, { target: "tset" }));
  assert.ok(error instanceof TsbuildError && error.code === "USAGE");
  assert.is(error.message, 'target stage "tset" could not be found (did you mean test?)');
});

test("COPY --from reads the named stage's final file system", async () => {
  const graph = await convert(MULTI);
  const copy = vertexNamed(graph, "[stage-2 1/1] COPY --from=build /out/app /app");
  const action = copy.definition.op === "file" ? copy.definition.actions[0] : undefined;
  assert.ok(action && action.action === "copy");
  assert.is(vertexById(graph, copy.inputs[action.source]).name, "[build 4/4] RUN go build -o /out/app");
  assert.is(action.src, "/out/app");
  assert.is(action.dest, "/app");
});

test("COPY --from takes a stage index too", async () => {
  const graph = await convert("FROM alpine:3.19\nRUN make\nFROM scratch\nCOPY --from=0 /bin/x /x\n");
  const copy = files(graph)[0];
  assert.is(vertexById(graph, copy.inputs[1]).name, "[stage-0 2/2] RUN make");
});

test("COPY --from an out-of-range index is an error at the COPY", async () => {
  const error = await rejection(() => convert("FROM scratch\nCOPY --from=3 /x /x\n"));
  assert.is(error.reason, "invalid stage index 3");
  assert.is(error.line, 2);
});

test("COPY --from a name that is no stage reads that image", async () => {
  const graph = await convert("FROM scratch\nCOPY --from=alpine:3.19 /etc/os-release /\n");
  assert.equal(graph.resolver.calls, ["docker.io/library/alpine:3.19"]);
  const copy = files(graph)[0];
  assert.equal(vertexById(graph, copy.inputs[1]).definition, { op: "source", kind: "image", ref: `docker.io/library/alpine:3.19@${PIN}`, platform: "linux/amd64" });
});

test("COPY --from a misspelt stage that is no image either fails with the stage as a hint", async () => {
  const error = await rejection(() => convert("FROM scratch AS builder\nFROM scratch\nCOPY --from=buidler /x /x\n"));
  assert.instance(error, DockerfileSyntaxError);
  assert.is(error.line, 3);
  assert.is(error.hint, 'Did you mean the stage "builder"?');
});

test("an image the resolver cannot find keeps the resolver's error", async () => {
  const error = await rejection(() => convert("FROM nosuchimage:1\n"));
  assert.ok(error instanceof TsbuildError && error.code === "NOT_FOUND");
});

test("COPY --from with a variable is refused as BuildKit refuses it", async () => {
  const error = await rejection(() => convert("FROM scratch AS a\nFROM scratch\nARG S=a\nCOPY --from=$S /x /x\n"));
  assert.match(error.reason, /variable expansion is not supported for --from/);
  assert.is(error.line, 4);
});

test("COPY --from a stage defined later is an error at the COPY", async () => {
  const error = await rejection(() => convert("FROM scratch AS first\nCOPY --from=later /x /x\nFROM scratch AS later\nFROM first\n"));
  assert.is(error.reason, 'cannot copy from stage "later", it needs to be defined before current stage "first"');
  assert.is(error.line, 2);
});

test("two stages that copy from each other are a circular dependency", async () => {
  const error = await rejection(() => convert("FROM scratch AS a\nCOPY --from=b /x /x\nFROM scratch AS b\nCOPY --from=a /y /y\n"));
  assert.instance(error, DockerfileSyntaxError);
  assert.is(error.reason, "circular dependency detected on stage: a");
  assert.is(error.line, 2);
});

test("FROM an earlier stage continues from its file system, env, workdir, user and config", async () => {
  const graph = await convert("FROM alpine:3.19 AS base\nENV A=1\nWORKDIR /w\nUSER app\nLABEL l=1\nFROM base\nRUN pwd\n");
  const run = execs(graph)[0];
  assert.ok(run.definition.env.includes("A=1"));
  assert.is(run.definition.cwd, "/w");
  assert.is(run.definition.user, "app");
  assert.is(vertexById(graph, run.inputs[0]).name, "[base 2/2] WORKDIR /w");
  assert.equal(graph.image.config.Labels, { l: "1" });
  assert.is(graph.resolver.calls.length, 1);
});

test("a stage's ARGs are visible in stages built on it", async () => {
  const graph = await convert("FROM scratch AS base\nARG V=1\nFROM base\nRUN echo\n");
  assert.ok(execs(graph)[0].definition.env.includes("V=1"));
  assert.equal(graph.image.history?.map((h) => h.created_by), ["ARG V=1", "RUN |1 V=1 /bin/sh -c echo # buildkit"]);
});

test("the base image's WORKDIR and USER become the stage's defaults", async () => {
  const graph = await convert("FROM golang:1.22\nRUN go version\n", {
    images: { "docker.io/library/golang:1.22": alpineConfig({ WorkingDir: "/go", User: "gopher" }) },
  });
  assert.is(execs(graph)[0].definition.cwd, "/go");
  assert.is(execs(graph)[0].definition.user, "gopher");
});

// BuildKit adds every trigger to the step total, named or not, so the last RUN is 3 of 4.
test("the base image's ONBUILD triggers run right after FROM and are not inherited", async () => {
  const graph = await convert("FROM alpine:3.19\nRUN echo own\n", {
    images: { "docker.io/library/alpine:3.19": alpineConfig({ OnBuild: ["RUN echo trigger", "ENV FROM_TRIGGER=1"] }) },
  });
  assert.equal(execs(graph).map((v) => v.name), ["[2/4] ONBUILD RUN echo trigger", "[3/4] RUN echo own"]);
  assert.ok(graph.image.config.Env?.includes("FROM_TRIGGER=1"));
  assert.is(graph.image.config.OnBuild, undefined);
});

test("ONBUILD of an earlier stage triggers in stages built on it, not in itself", async () => {
  const graph = await convert("FROM scratch AS base\nONBUILD RUN echo child\nRUN echo base\nFROM base\nRUN echo after\n");
  assert.equal(execs(graph).map((v) => v.name), ["[base 1/1] RUN echo base", "[stage-1 1/2] ONBUILD RUN echo child", "[stage-1 2/2] RUN echo after"]);
  assert.is(graph.image.config.OnBuild, undefined);
});

test("an ONBUILD COPY --from trigger pulls in the stage it names", async () => {
  const graph = await convert("FROM alpine:3.19 AS assets\nRUN make assets\nFROM scratch AS base\nONBUILD COPY --from=assets /a /a\nFROM base\n");
  assert.ok(graph.vertices.some((v) => v.name === "[assets 2/2] RUN make assets"));
});

test("FROM --platform that is no platform is an error at the FROM", async () => {
  const error = await rejection(() => convert("FROM scratch\nFROM --platform=linux/arm64/v8/x alpine:3.19\n"));
  assert.instance(error, DockerfileSyntaxError);
  assert.is(error.line, 2);
  assert.match(error.reason, /failed to parse platform/);
});

test("FROM --platform naming the host, by alias or by variable, is accepted", async () => {
  const graph = await convert("ARG P=linux/x86_64\nFROM --platform=$P alpine:3.19\n");
  assert.equal(graph.resolver.calls, ["docker.io/library/alpine:3.19"]);
});

test("a base image for another architecture builds with a warning", async () => {
  const arm = { ...alpineConfig(), architecture: "arm64" };
  const graph = await convert("FROM alpine:3.19\n", { images: { "docker.io/library/alpine:3.19": arm } });
  assert.equal(graph.warnings.map((w) => w.code), ["base-platform-mismatch"]);
});

test("a FROM image shared by two stages is one source vertex", async () => {
  const graph = await convert("FROM alpine:3.19 AS a\nRUN a\nFROM alpine:3.19\nCOPY --from=a /x /x\n");
  assert.is(graph.vertices.filter((v) => v.definition.op === "source" && v.definition.kind === "image").length, 1);
});

test("an image without layers is treated as scratch", async () => {
  const empty = { ...alpineConfig(), rootfs: { type: "layers" as const, diff_ids: [] }, history: [] };
  const graph = await convert("FROM alpine:3.19\nRUN true\n", { images: { "docker.io/library/alpine:3.19": empty } });
  assert.equal(vertexById(graph, execs(graph)[0].inputs[0]).definition, { op: "source", kind: "scratch", platform: "linux/amd64" });
});

test("vertices are topologically ordered and their definitions survive JSON", async () => {
  const graph = await convert(MULTI);
  const seen = new Set<string>();
  for (const vertex of graph.vertices) {
    for (const input of vertex.inputs) assert.ok(seen.has(input), `${vertex.name} after its input ${input}`);
    seen.add(vertex.id);
    assert.equal(JSON.parse(JSON.stringify(vertex.definition)), vertex.definition);
  }
  assert.ok(seen.has(graph.output));
});

test("every instruction vertex carries its source range", async () => {
  const graph = await convert(MULTI);
  const run = vertexNamed(graph, "[build 4/4] RUN go build -o /out/app");
  assert.equal([run.location?.file, run.location?.range.start.line, run.location?.range.start.column], ["Dockerfile", 4, 1]);
});

test("a named context stands in for a stage of that name", async () => {
  const graph = await convert("FROM alpine:3.19 AS deps\nRUN slow\nFROM scratch\nCOPY --from=deps /x /x\n", {
    contexts: { deps: { kind: "local", name: "deps" } },
  });
  assert.not.ok(graph.vertices.some((v) => v.name.includes("slow")));
  const copy = files(graph)[0];
  assert.equal(vertexById(graph, copy.inputs[1]).definition, { op: "source", kind: "local", name: "deps", followPaths: [], excludePatterns: [] });
});

test("a bad ONBUILD trigger in a base image is an error at the FROM that runs it", async () => {
  const error = await rejection(() =>
    convert("FROM scratch\nFROM alpine:3.19\n", { images: { "docker.io/library/alpine:3.19": alpineConfig({ OnBuild: ["COPY --chmod=999 a /a"] }) } }),
  );
  assert.instance(error, DockerfileSyntaxError);
  assert.is(error.line, 2);
  assert.match(error.reason, /invalid chmod parameter/);
});

test("two stages of one name give a warning, and the later one takes the name", async () => {
  const graph = await convert("FROM scratch AS x\nRUN first\nFROM scratch AS x\nRUN second\nFROM x\n");
  assert.equal(graph.warnings.map((w) => w.code), ["duplicate-stage-name"]);
  assert.ok(graph.vertices.some((v) => v.name.endsWith("RUN second")));
  assert.not.ok(graph.vertices.some((v) => v.name.endsWith("RUN first")));
});

test("null fields of a base image config (as docker writes them) are left out", async () => {
  const base = alpineConfig({ Entrypoint: null, OnBuild: null, Cmd: ["/bin/sh"] });
  const graph = await convert("FROM alpine:3.19\n", { images: { "docker.io/library/alpine:3.19": base } });
  assert.not.ok("Entrypoint" in graph.image.config);
  assert.not.ok("OnBuild" in graph.image.config);
  assert.equal(graph.image.config.Cmd, ["/bin/sh"]);
});

test("a named context stands in for a FROM image, and the stage still runs on it", async () => {
  const graph = await convert("FROM alpine:3.19\nRUN echo on-top\n", {
    contexts: { "alpine:3.19": { kind: "image", ref: "golang:1.22" } },
  });
  assert.equal(graph.resolver.calls, ["docker.io/library/golang:1.22"]);
  assert.ok(graph.vertices.some((v) => v.name === "[2/2] RUN echo on-top"));
});

test("a named local context can be the base of a stage", async () => {
  const graph = await convert("FROM base\nRUN ls\n", { contexts: { base: { kind: "local", name: "base" } } });
  assert.equal(graph.resolver.calls, []);
  assert.equal(vertexById(graph, execs(graph)[0].inputs[0]).definition, { op: "source", kind: "local", name: "base", followPaths: [], excludePatterns: [] });
});

test.run();
