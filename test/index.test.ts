import { test } from "uvu";
import * as assert from "uvu/assert";
import * as api from "../index.js";
import * as parser from "../parser/index.js";
import * as frontend from "../frontend/index.js";

test("the parser's subpath export parses and expands", () => {
  const ast = parser.parseDockerfile("FROM busybox AS base\nRUN echo hi\n", { file: "Dockerfile" });
  const { stages } = frontend.parseInstructions(ast);
  assert.is(stages[0].name, "base");
  assert.is(parser.expandWord("${NAME:-world}", { NAME: "tsbuild" }).value, "tsbuild");
});

test("errors from the public API are TsbuildErrors with a code", () => {
  try {
    parser.parseDockerfile("", { file: "Dockerfile" });
    assert.unreachable("an empty Dockerfile must not parse");
  } catch (error) {
    assert.instance(error, api.DockerfileSyntaxError);
    assert.ok(api.isTsbuildError(error, "DOCKERFILE_SYNTAX"));
  }
});

test("the root export is the build, images, containers and registries API; machinery is in subpaths", () => {
  const values = Object.keys(api);
  for (const name of ["build", "buildWithEvents", "openWorker", "pruneImages", "runContainer", "pullImage", "pushImage", "BuildFailure", "TsbuildError"]) {
    assert.ok(values.includes(name), `${name} is exported`);
  }
  for (const name of ["Executor", "Store", "openStore", "createSnapshotter", "convertDockerfile", "parseDockerfile", "unpackImage", "fsck"]) {
    assert.not.ok(values.includes(name), `${name} is not in the root export`);
  }
  // A bound, so machinery does not creep back in: the user-facing API is about 50 functions.
  assert.ok(values.length <= 60, `${values.length} runtime values in the root export`);
});

test.run();
