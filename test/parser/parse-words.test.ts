import { test } from "uvu";
import * as assert from "uvu/assert";
import { parseWords } from "../../parser/parse-words.js";

test("words split on whitespace, and on Unicode whitespace such as NBSP", () => {
  assert.equal(parseWords("foo bar\tbaz"), ["foo", "bar", "baz"]);
  assert.equal(parseWords("a\u00a0b"), ["a", "b"]);
});

test("quotes group words and are kept", () => {
  assert.equal(parseWords(`foo "abc xyz" 'a b'`), ["foo", '"abc xyz"', "'a b'"]);
});

test("an escaped space joins words and the escape is kept", () => {
  assert.equal(parseWords("foo\\ bar"), ["foo\\ bar"]);
  assert.equal(parseWords("foo` bar", "`"), ["foo` bar"]);
});

test("inside single quotes the escape is an ordinary character", () => {
  assert.equal(parseWords("'a\\' b"), ["'a\\'", "b"]);
});

test("an escape at the very end disappears", () => {
  assert.equal(parseWords("abc\\"), ["abc"]);
});

test("an unterminated quote runs to the end", () => {
  assert.equal(parseWords(`a "b c`), ["a", '"b c']);
});

test.run();
