import { test } from "uvu";
import * as assert from "uvu/assert";
import { astToJson, dumpAst } from "../../parser/dump.js";
import { lines, parse } from "./dockerfile-test-helpers.js";

test("the dump of a multi-stage Dockerfile matches BuildKit's result format", () => {
  const ast = parse(
    lines(
      "# syntax=docker/dockerfile:1",
      "ARG GO_VERSION=1.22",
      "FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-alpine AS build",
      "WORKDIR /src",
      "RUN --mount=type=cache,target=/root/.cache/go-build \\",
      "    go build -o /out/app ./cmd/app",
      "FROM scratch AS final",
      "COPY --from=build --link /out/app /app",
      `ENTRYPOINT ["/app"]`,
    ),
  );
  assert.is(
    dumpAst(ast),
    lines(
      '(arg "GO_VERSION=1.22")',
      '(from ["--platform=$BUILDPLATFORM"] "golang:${GO_VERSION}-alpine" "AS" "build")',
      '(workdir "/src")',
      '(run ["--mount=type=cache,target=/root/.cache/go-build"] "go build -o /out/app ./cmd/app")',
      '(from "scratch" "AS" "final")',
      '(copy ["--from=build" "--link"] "/out/app" "/app")',
      '(entrypoint "/app")',
    ),
  );
});

test("the dump lower-cases only the keyword and quotes values with Go's rules", () => {
  assert.is(dumpAst(parse(lines("From Alpine AS Build", "LABEL a=\u200b b=\x7f c=café", "RUN printf '\ttab'"))), lines(
    '(from "Alpine" "AS" "Build")',
    '(label "a" "\\u200b" "=" "b" "\\x7f" "=" "c" "café" "=")',
    `(run "printf '\\ttab'")`,
  ));
});

test("astToJson gives plain objects with ranges, heredocs and triggers", () => {
  const json = astToJson(parse(lines("FROM x", "ONBUILD RUN <<EOF", "hi", "EOF")));
  const copy = JSON.parse(JSON.stringify(json));
  assert.equal(copy, json, "the JSON form survives a round trip unchanged");
  const onbuild = json.instructions[1];
  assert.is(onbuild.child?.keyword, "RUN");
  assert.equal(onbuild.heredocs.map((h) => [h.name, h.content, h.range.start.line, h.range.end.line]), [["EOF", "hi\n", 3, 4]]);
  assert.equal([json.range.start.line, json.range.end.line], [1, 4]);
  assert.is(json.instructions[0].child, null);
});

test.run();
