import { test } from "uvu";
import * as assert from "uvu/assert";
import { convert } from "./convert-fixture.js";

// Warnings follow BuildKit's default lint rules (frontend/dockerfile/linter/ruleset.go),
// with kebab-case codes: [Dockerfile, [code, message, line][]].
const cases: [string, [string, string, number][]][] = [
  ["FROM scratch\nCMD echo hi\n", [["json-args-recommended", "JSON arguments recommended for CMD to prevent unintended behavior related to OS signals", 2]]],
  ['FROM scratch\nSHELL ["/bin/bash", "-c"]\nENTRYPOINT exec app\n', []],
  ["FROM scratch\nENV A 1\n", [["legacy-key-value-format", '"ENV key=value" should be used instead of legacy "ENV key value" format', 2]]],
  ["FROM scratch\nLABEL a b\n", [["legacy-key-value-format", '"LABEL key=value" should be used instead of legacy "LABEL key value" format', 2]]],
  ["FROM scratch\nMAINTAINER me\n", [["maintainer-deprecated", "Maintainer instruction is deprecated in favor of using label", 2]]],
  ["FROM scratch\nWORKDIR app\nWORKDIR sub\n", [["workdir-relative-path", 'Relative workdir "app" can have unexpected results if the base image changes', 2]]],
  ["FROM scratch\nWORKDIR /app\nWORKDIR sub\n", []],
  [
    'FROM scratch\nCMD ["a"]\nCMD ["b"]\n',
    [["multiple-instructions-disallowed", "Multiple CMD instructions should not be used in the same stage because only the last one will be used", 2]],
  ],
  ['FROM scratch AS a\nCMD ["a"]\nFROM a\nCMD ["b"]\n', []],
  ["FROM scratch\nCOPY $SRC /x\n", [["undefined-var", "Usage of undefined variable '$SRC'", 2]]],
  ["FROM scratch\nENV SOURCE=a\nCOPY $SOURCES /x\n", [["undefined-var", "Usage of undefined variable '$SOURCES' (did you mean $SOURCE?)", 3]]],
  ["FROM scratch\nARG SRC\nCOPY $SRC /x\n", []],
  ["ARG VERSION=1\nFROM alpine$VERSIO\n", [["undefined-arg-in-from", "FROM argument 'VERSIO' is not declared (did you mean VERSION?)", 2]]],
  ["FROM scratch\nRUN echo $UNSET\n", []],
];

for (const [dockerfile, expected] of cases) {
  test(`${JSON.stringify(dockerfile)} warns ${expected.length === 0 ? "nothing" : expected.map((e) => e[0]).join(", ")}`, async () => {
    const graph = await convert(dockerfile);
    assert.equal(graph.warnings.map((w) => [w.code, w.message, w.location?.range.start.line]), expected);
  });
}

test("COPY of a source the .dockerignore excludes warns, unless there are ! exceptions", async () => {
  const graph = await convert("FROM scratch\nCOPY secret.env app/ /x/\nADD logs/today.log /l\n", { dockerignore: ["*.env", "logs"] });
  assert.equal(graph.warnings.map((w) => [w.code, w.message]), [
    ["copy-ignored-file", 'Attempting to Copy file "secret.env" that is excluded by .dockerignore'],
    ["copy-ignored-file", 'Attempting to Add file "logs/today.log" that is excluded by .dockerignore'],
  ]);
  const withException = await convert("FROM scratch\nCOPY secret.env /x\n", { dockerignore: ["*.env", "!keep.env"] });
  assert.equal(withException.warnings, []);
});

test("COPY . warns only when the .dockerignore excludes every root entry", async () => {
  assert.equal((await convert("FROM scratch\nCOPY . /x\n", { dockerignore: ["*.md"] })).warnings, []);
  assert.equal((await convert("FROM scratch\nCOPY . /x\n", { dockerignore: ["*"] })).warnings.map((w) => w.code), ["copy-ignored-file"]);
});

test("warnings come only from stages the target needs", async () => {
  const graph = await convert("FROM scratch AS unused\nMAINTAINER me\nFROM scratch\n");
  assert.equal(graph.warnings, []);
});

test.run();
