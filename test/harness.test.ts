import { test } from "uvu";
import * as assert from "uvu/assert";
import { TsbuildError, isTsbuildError } from "../errors.js";
import { DockerfileSyntaxError } from "../parser/syntax-error.js";

test("a DockerfileSyntaxError is a TsbuildError with its location in the message", () => {
  const error = new DockerfileSyntaxError("Unknown instruction: FORM", { file: "Dockerfile", line: 3, column: 1 }, { hint: 'Did you mean "FROM"?' });
  assert.ok(error instanceof TsbuildError);
  assert.ok(isTsbuildError(error, "DOCKERFILE_SYNTAX"));
  assert.is(error.message, "Dockerfile:3:1: Unknown instruction: FORM");
  assert.is(error.exitStatus, 1);
  assert.is(error.hint, 'Did you mean "FROM"?');
});

test.run();
