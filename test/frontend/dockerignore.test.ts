import { test } from "uvu";
import * as assert from "uvu/assert";
import { BadDockerignorePatternError, DockerignoreMatcher, dockerignorePaths, parseDockerignore } from "../../frontend/dockerignore.js";

test("parseDockerignore drops comments and blank lines, trims, cleans and makes patterns relative", () => {
  const text = "\uFEFF# a comment\n\n  *.md  \n/build\n./tmp/../out\n!  /docs/../keep.md \n #not-a-comment\r\nsrc/\n";
  assert.equal(parseDockerignore(text), ["*.md", "build", "out", "!keep.md", "#not-a-comment", "src"]);
});

test("a lone slash stays the root pattern", () => {
  assert.equal(parseDockerignore("/\n"), ["/"]);
});

// [patterns, path, excluded]: moby/patternmatcher's MatchesOrParentMatches semantics.
const cases: [string[], string, boolean][] = [
  [["*.md"], "README.md", true],
  [["*.md"], "docs/README.md", false],
  [["**/*.md"], "README.md", true],
  [["**/*.md"], "docs/a/README.md", true],
  [["**"], "anything/at/all", true],
  [["docs"], "docs", true],
  [["docs"], "docs/a/b.txt", true],
  [["docs"], "docsx", false],
  [["docs", "!docs/keep.md"], "docs/keep.md", false],
  [["docs", "!docs/keep.md"], "docs/other.md", true],
  [["*", "!src"], "src/main.ts", false],
  [["*", "!src"], "Dockerfile", true],
  [["a/**"], "a/b", true],
  [["a/**"], "ab", false],
  [["a?c"], "abc", true],
  [["a?c"], "a/c", false],
  [["[a-c].txt"], "b.txt", true],
  [["[a-c].txt"], "d.txt", false],
  [["[^a].txt"], "a.txt", false],
  [["[^a].txt"], "b.txt", true],
  [["**/node_modules"], "node_modules/x", true],
  [["**/node_modules"], "a/b/node_modules/x/y", true],
  [["**/node_modules"], "a/my_node_modules", false],
  [["*.log", "!important.log"], "important.log", false],
  [["*.log", "!important.log"], "x.log", true],
  [["!a", "a"], "a", true],
  [["\\*.txt"], "*.txt", true],
  [["\\*.txt"], "a.txt", false],
  [["a/*/c"], "a/b/c/d", true],
  [["a/*/c"], "a/b/x/c", false],
  [["a/**/c"], "a/c", true],
  [["a/**/c"], "a/x/y/c", true],
  [["file.txt"], "./file.txt", true],
  [["file.txt"], "/file.txt", true],
  [["a.b"], "aXb", false],
  [["*"], ".", false],
];

for (const [patterns, path, excluded] of cases) {
  test(`with ${JSON.stringify(patterns)} the path "${path}" is ${excluded ? "excluded" : "kept"}`, () => {
    assert.is(new DockerignoreMatcher(patterns).isExcluded(path), excluded);
  });
}

test("an exclusion pattern with nothing after ! is an error", () => {
  assert.throws(() => new DockerignoreMatcher(["!"]), (error: unknown) => error instanceof BadDockerignorePatternError);
});

test("a bad pattern is a usage error with a hint", () => {
  assert.throws(() => new DockerignoreMatcher(["[x"]), (error: unknown) => error instanceof BadDockerignorePatternError && error.code === "USAGE" && error.hint !== undefined);
});

test("an unclosed character class is a bad pattern, as in Go's filepath.Match", () => {
  assert.throws(() => new DockerignoreMatcher(["[abc"]), (error: unknown) => error instanceof BadDockerignorePatternError);
  assert.throws(() => new DockerignoreMatcher(["a\\"]), (error: unknown) => error instanceof BadDockerignorePatternError);
});

test("an excluded directory can be skipped only when no exception can re-include below it", () => {
  assert.is(new DockerignoreMatcher(["dir"]).mayIncludeBelow("dir"), false);
  assert.is(new DockerignoreMatcher(["dir", "!dir/sub/file"]).mayIncludeBelow("dir"), true);
  assert.is(new DockerignoreMatcher(["dir", "!dir/sub/file"]).mayIncludeBelow("dir/other"), false);
  assert.is(new DockerignoreMatcher(["*", "!src/**/*.ts"]).mayIncludeBelow("lib"), false);
  assert.is(new DockerignoreMatcher(["*", "!src/**/*.ts"]).mayIncludeBelow("src"), true);
  assert.is(new DockerignoreMatcher(["*", "!**/*.go"]).mayIncludeBelow("vendor/x"), true);
  assert.is(new DockerignoreMatcher(["*", "!s*"]).mayIncludeBelow("src/deep"), true);
});

test("hasExceptions tells a walker whether any ! pattern exists", () => {
  assert.is(new DockerignoreMatcher(["a", "b"]).hasExceptions, false);
  assert.is(new DockerignoreMatcher(["a", "!a/b"]).hasExceptions, true);
});

test("the Dockerfile's own ignore file comes before the context's .dockerignore", () => {
  assert.equal(dockerignorePaths({ dockerfile: "/src/docker/app.Dockerfile", context: "/src/" }), ["/src/docker/app.Dockerfile.dockerignore", "/src/.dockerignore"]);
  assert.equal(dockerignorePaths({ dockerfile: "Dockerfile", context: "" }), ["Dockerfile.dockerignore", "./.dockerignore"]);
});

test.run();
