import { test } from "uvu";
import * as assert from "uvu/assert";
import { DockerfileSyntaxError } from "../../parser/syntax-error.js";
import { ALPINE_LAYER, PIN, alpineConfig, convert, rejection, vertexById } from "./convert-fixture.js";

const PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const BASE_HISTORY = alpineConfig().history ?? [];
const entry = (created_by: string, empty_layer: boolean) => ({ created_by, comment: "buildkit.dockerfile.v0", empty_layer });

// The history lines follow dockerfile2llb's commitToHistory calls (BuildKit 73ed6825,
// frontend/dockerfile/dockerfile2llb/convert.go): "ENV k=v", "WORKDIR <normalised>",
// "COPY src dest # buildkit", "RUN <args joined> # buildkit", fmt "%v" for EXPOSE,
// VOLUME and SHELL lists and "%q" for CMD and ENTRYPOINT. Also checked against dockerd
// 20.10's built-in BuildKit on the same Dockerfile: config and history are identical but
// for EXPOSE, whose older format printed a map.
test("a typical single-stage Dockerfile gives BuildKit's image config and history", async () => {
  const graph = await convert(
    [
      "FROM alpine:3.19",
      "ENV APP_HOME=/app",
      "WORKDIR $APP_HOME",
      "COPY package.json ./",
      "RUN echo hi",
      "EXPOSE 80 8000-8001/udp",
      "USER nobody",
      "LABEL org.example.version=1.0",
      'CMD ["node", "server.js"]',
      "",
    ].join("\n"),
  );
  assert.equal(graph.image, {
    architecture: "amd64",
    os: "linux",
    config: {
      Env: [PATH, "APP_HOME=/app"],
      Cmd: ["node", "server.js"],
      WorkingDir: "/app",
      ExposedPorts: { "80/tcp": {}, "8000/udp": {}, "8001/udp": {} },
      User: "nobody",
      Labels: { "org.example.version": "1.0" },
      ArgsEscaped: true,
    },
    rootfs: { type: "layers", diff_ids: [ALPINE_LAYER] },
    history: [
      ...BASE_HISTORY,
      entry("ENV APP_HOME=/app", true),
      entry("WORKDIR /app", false),
      entry("COPY package.json ./ # buildkit", false),
      entry("RUN /bin/sh -c echo hi # buildkit", false),
      entry("EXPOSE [80/tcp 8000/udp 8001/udp]", true),
      entry("USER nobody", true),
      entry("LABEL org.example.version=1.0", true),
      entry('CMD ["node" "server.js"]', true),
    ],
  });
  assert.equal(
    graph.vertices.map((v) => v.name),
    [
      `[1/4] FROM docker.io/library/alpine:3.19@${PIN}`,
      "[2/4] WORKDIR /app",
      "[internal] load build context",
      "[3/4] COPY package.json ./",
      "[4/4] RUN echo hi",
    ],
  );
  assert.is(vertexById(graph, graph.output).name, "[4/4] RUN echo hi");
});

test("a multi-stage build's image is the target stage's alone; COPY --from history omits --from", async () => {
  const graph = await convert(
    "FROM golang:1.22 AS build\nENV CGO_ENABLED=0\nRUN go build -o /out/app\nFROM scratch\nCOPY --from=build --chmod=0755 /out/app /app\nUSER 65534\nENTRYPOINT [\"/app\"]\n",
  );
  assert.equal(graph.image, {
    architecture: "amd64",
    os: "linux",
    config: { Env: [PATH], WorkingDir: "/", User: "65534", Entrypoint: ["/app"] },
    rootfs: { type: "layers", diff_ids: [] },
    history: [entry("COPY --chmod=0755 /out/app /app # buildkit", false), entry("USER 65534", true), entry('ENTRYPOINT ["/app"]', true)],
  });
});

test("FROM scratch starts with the default PATH and WorkingDir / as BuildKit's empty image", async () => {
  const graph = await convert("FROM scratch\nCOPY app /app\nENTRYPOINT [\"/app\"]\n");
  assert.equal(graph.image.config, { Env: [PATH], WorkingDir: "/", Entrypoint: ["/app"] });
  assert.equal(graph.image.history, [entry("COPY app /app # buildkit", false), entry('ENTRYPOINT ["/app"]', true)]);
  assert.equal(graph.resolver.calls, []);
});

test("a base image without PATH gets BuildKit's default PATH appended", async () => {
  const base = alpineConfig({ Env: ["LANG=C.UTF-8"] });
  const graph = await convert("FROM alpine:3.19\nRUN true\n", { images: { "docker.io/library/alpine:3.19": base } });
  assert.equal(graph.image.config.Env, ["LANG=C.UTF-8", PATH]);
});

test("shell-form CMD and ENTRYPOINT use SHELL, and history quotes them as Go's %q does", async () => {
  const graph = await convert('FROM scratch\nSHELL ["/bin/bash", "-o", "pipefail", "-c"]\nENTRYPOINT exec "$0" run\nCMD echo "a\tb"\n');
  assert.equal(graph.image.config.Shell, ["/bin/bash", "-o", "pipefail", "-c"]);
  assert.equal(graph.image.config.Entrypoint, ["/bin/bash", "-o", "pipefail", "-c", 'exec "$0" run']);
  assert.equal(graph.image.config.Cmd, ["/bin/bash", "-o", "pipefail", "-c", 'echo "a\tb"']);
  assert.equal(
    graph.image.history?.map((h) => h.created_by),
    [
      "SHELL [/bin/bash -o pipefail -c]",
      'ENTRYPOINT ["/bin/bash" "-o" "pipefail" "-c" "exec \\"$0\\" run"]',
      'CMD ["/bin/bash" "-o" "pipefail" "-c" "echo \\"a\\tb\\""]',
    ],
  );
});

test("ENTRYPOINT drops a CMD inherited from the base image", async () => {
  const graph = await convert('FROM alpine:3.19\nENTRYPOINT ["/bin/app"]\n');
  assert.is(graph.image.config.Cmd, undefined);
  assert.equal(graph.image.config.Entrypoint, ["/bin/app"]);
});

test("ENTRYPOINT keeps a CMD given earlier in the same stage", async () => {
  const graph = await convert('FROM alpine:3.19\nCMD ["--help"]\nENTRYPOINT ["/bin/app"]\n');
  assert.equal(graph.image.config.Cmd, ["--help"]);
});

test("ENTRYPOINT in a stage built on another stage drops that stage's CMD", async () => {
  const graph = await convert('FROM alpine:3.19 AS base\nCMD ["x"]\nFROM base\nENTRYPOINT ["/bin/app"]\n');
  assert.is(graph.image.config.Cmd, undefined);
});

test("HEALTHCHECK is stored in nanoseconds and written to history as Go's %+v", async () => {
  const graph = await convert("FROM scratch\nHEALTHCHECK --interval=30s --retries=3 CMD curl -f http://localhost/\n");
  assert.equal(graph.image.config.Healthcheck, { Test: ["CMD-SHELL", "curl -f http://localhost/"], Interval: 30e9, Retries: 3 });
  assert.equal(graph.image.history?.[0], entry("HEALTHCHECK {Test:[CMD-SHELL curl -f http://localhost/] Interval:30s Timeout:0s StartPeriod:0s StartInterval:0s Retries:3}", true));
});

test("VOLUME, STOPSIGNAL, MAINTAINER and LABEL expand variables and fill their fields", async () => {
  const graph = await convert(
    'FROM scratch\nENV D=/data S=SIGQUIT WHO=me\nVOLUME ["$D", "/logs"]\nSTOPSIGNAL $S\nMAINTAINER Jane <jane@example.com>\nLABEL "$WHO.x"="${D}/y"\n',
  );
  assert.equal(graph.image.config.Volumes, { "/data": {}, "/logs": {} });
  assert.is(graph.image.config.StopSignal, "SIGQUIT");
  assert.is(graph.image.author, "Jane <jane@example.com>");
  assert.equal(graph.image.config.Labels, { "me.x": "/data/y" });
  assert.equal(
    graph.image.history?.map((h) => h.created_by),
    ["ENV D=/data S=SIGQUIT WHO=me", "VOLUME [/data /logs]", "STOPSIGNAL SIGQUIT", "MAINTAINER Jane <jane@example.com>", "LABEL me.x=/data/y"],
  );
});

test("ONBUILD is recorded in the config's OnBuild without a history entry", async () => {
  const graph = await convert("FROM scratch\nONBUILD RUN echo child\nONBUILD COPY . /src\n");
  assert.equal(graph.image.config.OnBuild, ["RUN echo child", "COPY . /src"]);
  assert.equal(graph.image.history, []);
});

test("--label values are added to the target image's labels, over the Dockerfile's", async () => {
  const graph = await convert("FROM scratch\nLABEL a=1 b=2\n", { labels: { b: "cli", c: "3" } });
  assert.equal(graph.image.config.Labels, { a: "1", b: "cli", c: "3" });
});

test("EXPOSE takes several words from one variable, and lower-cases protocols", async () => {
  const graph = await convert('FROM scratch\nENV PORTS="80 443/TCP"\nEXPOSE $PORTS 53/udp\n');
  assert.equal(graph.image.config.ExposedPorts, { "80/tcp": {}, "443/tcp": {}, "53/udp": {} });
});

test("an ENV of the legacy form and a later replacement keep the variable's place in Env", async () => {
  const graph = await convert("FROM scratch\nENV A 1\nENV B=2 A=3\n");
  assert.equal(graph.image.config.Env, [PATH, "A=3", "B=2"]);
});

test("ENV expands every pair before applying any, so a later pair sees the old value", async () => {
  const graph = await convert("FROM scratch\nENV A=1\nENV A=2 B=$A\n");
  assert.equal(graph.image.config.Env, [PATH, "A=2", "B=1"]);
});

test("an expansion error is a syntax error at the instruction's line", async () => {
  const error = await rejection(() => convert("FROM scratch\n\nENV A=${UNSET:?must be set}\n"));
  assert.instance(error, DockerfileSyntaxError);
  assert.is(error.file, "Dockerfile");
  assert.is(error.line, 3);
});

test("a STOPSIGNAL that names no signal is an error at its line", async () => {
  const error = await rejection(() => convert("FROM scratch\nSTOPSIGNAL SIGNOPE\n"));
  assert.is(error.reason, "Invalid signal: SIGNOPE");
  assert.is(error.line, 2);
});

test("a bad EXPOSE port is an error at its line", async () => {
  const error = await rejection(() => convert("FROM scratch\nEXPOSE 80/xyz\n"));
  assert.is(error.reason, 'invalid port: "80/xyz": invalid proto: xyz');
  assert.is(error.line, 2);
});

test("SOURCE_DATE_EPOCH dates the new history entries and WORKDIR's directory", async () => {
  const graph = await convert("FROM scratch\nWORKDIR /w\nENV A=1\n", { buildArgs: { SOURCE_DATE_EPOCH: "1700000000" } });
  assert.is(graph.epoch, 1700000000);
  assert.equal(graph.image.history?.map((h) => h.created), ["2023-11-14T22:13:20Z", "2023-11-14T22:13:20Z"]);
  const mkdir = graph.vertices.find((v) => v.definition.op === "file");
  assert.equal(mkdir?.definition, { op: "file", link: false, actions: [{ action: "mkdir", path: "/w", mode: 0o755, makeParents: true, createdTime: "2023-11-14T22:13:20Z" }] });
});

test("without SOURCE_DATE_EPOCH history has no created time; the exporter sets it", async () => {
  const graph = await convert("FROM scratch\nENV A=1\n");
  assert.is(graph.epoch, undefined);
  assert.not.ok("created" in (graph.image.history?.[0] ?? {}));
});

test("a SOURCE_DATE_EPOCH that is not whole seconds is a usage error", async () => {
  const error = await rejection(() => convert("FROM scratch\n", { buildArgs: { SOURCE_DATE_EPOCH: "yesterday" } }));
  assert.is(error.code, "USAGE");
});

test.run();
