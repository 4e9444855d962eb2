import { test } from "uvu";
import * as assert from "uvu/assert";
import { BadDockerignorePatternError, DockerignoreMatcher, parseDockerignore } from "../../frontend/dockerignore.js";

/*
 * Cases restated as data from moby/patternmatcher's own tests (patternmatcher_test.go:
 * TestMatches, TestMatch and the small Test*Exclusion* cases; ignorefile_test.go: TestReadAll),
 * so this matcher is held to the library Docker and BuildKit use. Texts with a trailing
 * slash are given as a walker would (cleaned); the context root itself is never excluded.
 */

const single: [string, string, boolean][] = [
  ["**", "file", true], ["**/", "file", true], ["**", "dir/file", true], ["**/", "dir/file", true],
  ["**/**", "dir/file", true], ["dir/**", "dir/file", true], ["dir/**", "dir/dir2/file", true],
  ["**/dir", "dir", true], ["**/dir", "dir/file", true], ["**/dir2/*", "dir/dir2/file", true],
  ["**/dir2/**", "dir/dir2/dir3/file", true], ["**file", "file", true], ["**file", "dir/file", true],
  ["**/file", "dir/file", true], ["**file", "dir/dir/file", true], ["**/file", "dir/dir/file", true],
  ["**/file*", "dir/dir/file", true], ["**/file*", "dir/dir/file.txt", true], ["**/file*txt", "dir/dir/file.txt", true],
  ["**/file*.txt", "dir/dir/file.txt", true], ["**/file*.txt*", "dir/dir/file.txt", true], ["**/**/*.txt", "dir/dir/file.txt", true],
  ["**/**/*.txt2", "dir/dir/file.txt", false], ["**/*.txt", "file.txt", true], ["**/**/*.txt", "file.txt", true],
  ["a**/*.txt", "a/file.txt", true], ["a**/*.txt", "a/dir/file.txt", true], ["a**/*.txt", "a/dir/dir/file.txt", true],
  ["a/*.txt", "a/dir/file.txt", false], ["a/*.txt", "a/file.txt", true], ["a/*.txt**", "a/file.txt", true],
  ["a[b-d]e", "ae", false], ["a[b-d]e", "ace", true], ["a[b-d]e", "aae", false], ["a[^b-d]e", "aze", true],
  [".*", ".foo", true], [".*", "foo", false], ["abc.def", "abcdef", false], ["abc.def", "abc.def", true],
  ["abc.def", "abcZdef", false], ["abc?def", "abcZdef", true], ["abc?def", "abcdef", false], ["a\\\\", "a\\", true],
  ["**/foo/bar", "foo/bar", true], ["**/foo/bar", "dir/foo/bar", true], ["**/foo/bar", "dir/dir2/foo/bar", true],
  ["abc/**", "abc", false], ["abc/**", "abc/def", true], ["abc/**", "abc/def/ghi", true], ["**/.foo", ".foo", true],
  ["**/.foo", "bar.foo", false], ["a(b)c/def", "a(b)c/def", true], ["a(b)c/def", "a(b)c/xyz", false],
  ["a.|)$(}+{bc", "a.|)$(}+{bc", true],
  ["dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", true],
  ["dist/*.whl", "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", true], ["a\\*b", "a*b", true],
  // TestMatch (filepath.Match semantics under the matcher)
  ["abc", "abc", true], ["*", "abc", true], ["*c", "abc", true], ["a*", "a", true], ["a*", "abc", true], ["a*", "ab/c", true],
  ["a*/b", "abc/b", true], ["a*/b", "a/c/b", false], ["a*b*c*d*e*/f", "axbxcxdxe/f", true], ["a*b*c*d*e*/f", "axbxcxdxexxx/f", true],
  ["a*b*c*d*e*/f", "axbxcxdxe/xxx/f", false], ["a*b*c*d*e*/f", "axbxcxdxexxx/fff", false], ["a*b?c*x", "abxbbxdbxebxczzx", true],
  ["a*b?c*x", "abxbbxdbxebxczzy", false], ["ab[c]", "abc", true], ["ab[b-d]", "abc", true], ["ab[e-g]", "abc", false],
  ["ab[^c]", "abc", false], ["ab[^b-d]", "abc", false], ["ab[^e-g]", "abc", true], ["a\\*b", "ab", false], ["a?b", "a☺b", true],
  ["a[^a]b", "a☺b", true], ["a???b", "a☺b", false], ["a[^a][^a][^a]b", "a☺b", false], ["[a-ζ]*", "α", true], ["*[a-ζ]", "A", false],
  ["a?b", "a/b", false], ["a*b", "a/b", false], ["[\\]a]", "]", true], ["[\\-]", "-", true], ["[x\\-]", "x", true], ["[x\\-]", "-", true],
  ["[x\\-]", "z", false], ["[\\-x]", "x", true], ["[\\-x]", "-", true], ["[\\-x]", "a", false], ["*x", "xxx", true],
];

for (const [pattern, path, excluded] of single) {
  test(`patternmatcher: ${JSON.stringify(pattern)} ${excluded ? "matches" : "does not match"} ${JSON.stringify(path)}`, () => {
    assert.is(new DockerignoreMatcher([pattern]).isExcluded(path), excluded);
  });
}

const multi: [string[], string, boolean][] = [
  [["**", "!util/docker/web"], "util/docker/web/foo", false],
  [["**", "!util/docker/web", "util/docker/web/foo"], "util/docker/web/foo", true],
  [["**", "!dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl"], "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", false],
  [["**", "!dist/*.whl"], "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", false],
  [["!fileutils.go", "*.go"], "fileutils.go", true],
  [["docs", "!docs/README.md"], "docs/README.md", false],
  [["docs/", "!docs/README.md"], "docs/README.md", false],
  [["docs/*", "!docs/README.md"], "docs/README.md", false],
  [["*.go", "!fileutils.go"], "fileutils.go", false],
  [["*.go"], ".", false],
  [[], "any/path/there", false],
];

for (const [patterns, path, excluded] of multi) {
  test(`patternmatcher: ${JSON.stringify(patterns)} ${excluded ? "excludes" : "keeps"} ${JSON.stringify(path)}`, () => {
    assert.is(new DockerignoreMatcher(patterns).isExcluded(path), excluded);
  });
}

for (const pattern of ["[]a]", "[-]", "[x-]", "[-x]", "\\", "[a-b-c]", "[", "[^", "[^bc", "a[", "!"]) {
  test(`patternmatcher: ${JSON.stringify(pattern)} is a bad pattern`, () => {
    assert.throws(() => new DockerignoreMatcher([pattern]), (error: unknown) => error instanceof BadDockerignorePatternError);
  });
}

test("ignorefile: absolute patterns become relative, comments and blanks go, a bare ! stays", () => {
  const text = "test1\n/test2\n/a/file/here\n\nlastfile\n# this is a comment\n! /inverted/abs/path\n!\n! ";
  assert.equal(parseDockerignore(text), ["test1", "test2", "a/file/here", "lastfile", "!inverted/abs/path", "!", "!"]);
});

test.run();
