import { test } from "uvu";
import * as assert from "uvu/assert";
import * as api from "../index.js";

test("the README's API example works as written", () => {
  const ast = api.parseDockerfile("FROM busybox AS base\nRUN echo hi\n", { file: "Dockerfile" });
  const { stages } = api.parseInstructions(ast);
  assert.is(stages[0].name, "base");
  assert.is(api.expandWord("${NAME:-world}", { NAME: "tsbuild" }).value, "tsbuild");
});

test("errors from the public API are TsbuildErrors with a code", () => {
  try {
    api.parseDockerfile("", { file: "Dockerfile" });
    assert.unreachable("an empty Dockerfile must not parse");
  } catch (error) {
    assert.instance(error, api.DockerfileSyntaxError);
    assert.ok(api.isTsbuildError(error, "DOCKERFILE_SYNTAX"));
  }
});

test.run();
