import { test } from "uvu";
import * as assert from "uvu/assert";
import { parseInstructions } from "../../frontend/instructions/parse-instructions.js";
import type { CopyInstruction, HealthcheckInstruction, OnbuildInstruction, RunInstruction } from "../../frontend/instructions/types.js";
import { parseDockerfile } from "../../parser/parse-dockerfile.js";
import { DockerfileSyntaxError } from "../../parser/syntax-error.js";

function instructions(text: string) {
  return parseInstructions(parseDockerfile(text, { file: "Dockerfile" }));
}

function failure(text: string): DockerfileSyntaxError {
  try {
    instructions(text);
  } catch (error) {
    assert.instance(error, DockerfileSyntaxError);
    return error as DockerfileSyntaxError;
  }
  throw new Error("expected a DockerfileSyntaxError");
}

test("ARGs before the first FROM are meta args and stages collect what follows their FROM", () => {
  const { metaArgs, stages } = instructions("ARG BASE=busybox\nFROM $BASE AS Build\nRUN true\nFROM scratch\nCOPY --from=build /a /b\n");
  assert.is(metaArgs.length, 1);
  assert.equal(metaArgs[0].args, [{ key: "BASE", value: "busybox", docComment: "" }]);
  assert.is(stages.length, 2);
  assert.is(stages[0].name, "build");
  assert.is(stages[0].from.image, "$BASE");
  assert.equal(stages[0].commands.map((c) => c.kind), ["RUN"]);
  assert.is((stages[1].commands[0] as CopyInstruction).from, "build");
});

test("a Dockerfile of ARGs only has no stages to build", () => {
  assert.is(failure("ARG foo=bar\n").reason, "dockerfile contains no stages to build");
});

test("an instruction other than ARG before FROM is an error at that line", () => {
  const error = failure("ENV A=b\nFROM scratch\n");
  assert.is(error.reason, "no build stage in current context");
  assert.is(error.line, 1);
});

test("an unknown instruction suggests the closest keyword, in BuildKit's words and the case it was written in", () => {
  const error = failure("FROM scratch\nCOPPY a b\n");
  assert.is(error.reason, "unknown instruction: COPPY (did you mean COPY?)");
  assert.is(failure("FROM scratch\ncoppy a b\n").reason, "unknown instruction: coppy (did you mean copy?)");
  assert.is(error.line, 2);
});

test("an unknown flag suggests the closest flag of that instruction, at the flag's column", () => {
  const error = failure("FROM scratch\nCOPY --chwon=1:1 a b\n");
  assert.is(error.reason, "unknown flag: --chwon (did you mean chown?)");
  assert.is(error.line, 2);
  assert.is(error.column, 6);
});

test("a string flag without a value and a repeated one are errors", () => {
  assert.is(failure("FROM scratch\nCOPY --from a b\n").reason, "Missing a value on flag: --from");
  assert.is(failure("FROM scratch\nCOPY --from=x --from=y a b\n").reason, "Duplicate flag specified: --from");
  assert.is(failure("FROM scratch\nCOPY --link=maybe a b\n").reason, "Expecting boolean value for flag link, not: maybe");
});

test("RUN keeps every --mount in order and reports the flags used", () => {
  const run = instructions("FROM scratch\nRUN --mount=type=cache,target=/c --network=none --mount=type=tmpfs,target=/t make\n").stages[0].commands[0] as RunInstruction;
  assert.equal(run.mounts, ["type=cache,target=/c", "type=tmpfs,target=/t"]);
  assert.is(run.network, "none");
  assert.equal(run.flagsUsed, ["mount", "network"]);
  assert.is(run.prependShell, true);
  assert.equal(run.args, ["make"]);
});

test("COPY heredoc sources become inline files with <<- tabs removed", () => {
  const copy = instructions("FROM scratch\nCOPY <<-EOF src /dst/\n\tline one\n\t\tline two\nEOF\n").stages[0].commands[0] as CopyInstruction;
  assert.equal(copy.sources, ["src"]);
  assert.is(copy.destination, "/dst/");
  assert.equal(copy.sourceContents.map((c) => [c.name, c.data, c.expand]), [["EOF", "line one\nline two\n", true]]);
});

test("HEALTHCHECK CMD in shell form becomes CMD-SHELL with its durations in nanoseconds", () => {
  const check = instructions("FROM scratch\nHEALTHCHECK --interval=1m30s --retries=3 CMD curl -f http://localhost/\n").stages[0].commands[0] as HealthcheckInstruction;
  assert.equal(check.healthcheck.test, ["CMD-SHELL", "curl -f http://localhost/"]);
  assert.is(check.healthcheck.interval, 90e9);
  assert.is(check.healthcheck.retries, 3);
  assert.is(failure("FROM scratch\nHEALTHCHECK --timeout=10x CMD true\n").reason, 'time: invalid duration "10x"');
  assert.is(failure("FROM scratch\nHEALTHCHECK NONE x\n").reason, "HEALTHCHECK NONE takes no arguments");
});

test("ONBUILD keeps its trigger's text and refuses FROM, MAINTAINER and ONBUILD", () => {
  const onbuild = instructions("FROM scratch\nONBUILD RUN echo hi\n").stages[0].commands[0] as OnbuildInstruction;
  assert.is(onbuild.expression, "RUN echo hi");
  assert.is(onbuild.trigger.kind, "RUN");
  assert.match(failure("FROM scratch\nONBUILD FROM x\n").reason, "FROM isn't allowed as an ONBUILD trigger");
  assert.match(failure("FROM scratch\nONBUILD ONBUILD RUN x\n").reason, "Chaining ONBUILD");
});

test("FROM takes one or three arguments and a stage name without symbols", () => {
  assert.is(failure("FROM a b\n").reason, "FROM requires either one or three arguments");
  assert.match(failure("FROM a AS 1st\n").reason, "invalid name for build stage");
});

test("SHELL must be JSON and single-argument instructions take exactly one", () => {
  assert.is(failure("FROM scratch\nSHELL /bin/bash -c\n").reason, "SHELL requires the arguments to be in JSON form");
  assert.is(failure("FROM scratch\nWORKDIR\n").reason, "WORKDIR requires exactly one argument");
  assert.is(failure("FROM scratch\nCOPY onlyone\n").reason, "COPY requires at least two arguments, but only one was provided. Destination could not be determined");
});

test("doc comments above ARG and FROM describe them", () => {
  const { metaArgs, stages } = instructions("# VERSION picks the release\nARG VERSION=1\n# base is the runtime\nFROM scratch AS base\n");
  assert.is(metaArgs[0].args[0].docComment, "picks the release");
  assert.is(stages[0].docComment, "is the runtime");
});

test.run();
