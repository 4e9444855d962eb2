import { test } from "uvu";
import * as assert from "uvu/assert";
import { parseJsonArray } from "../../parser/json-array.js";

test("an array of strings is the exec form, with escapes decoded", () => {
  const result = parseJsonArray(`  ["a", "caf\\u00e9", "\\/"]`);
  assert.equal(result, { kind: "strings", values: ["a", "café", "/"], spans: [[3, 6], [8, 19], [21, 25]] });
});

test("invalid JSON falls back to the shell form", () => {
  for (const text of [`['a']`, `["a",]`, `["a"] x`, `["a"`, `x ["a"]`, `{"a": 1}`]) {
    assert.is(parseJsonArray(text).kind, "not-json", text);
  }
});

test("valid JSON with a non-string element is its own failure", () => {
  for (const text of [`["a", 1]`, `[null]`, `[["a"]]`, `[{}]`, `[true]`]) {
    assert.is(parseJsonArray(text).kind, "not-strings", text);
  }
});

test("a number too large for a float64 is invalid JSON for Go, not a non-string element", () => {
  assert.is(parseJsonArray(`["a", 1e400]`).kind, "not-json");
});

test("nesting deeper than Go's limit is invalid JSON", () => {
  assert.is(parseJsonArray(`${"[".repeat(10001)}${"]".repeat(10001)}`).kind, "not-json");
  assert.is(parseJsonArray(`${"[".repeat(100)}${"]".repeat(100)}`).kind, "not-strings");
});

test("a lone surrogate escape decodes to U+FFFD as in Go", () => {
  assert.equal(parseJsonArray(`["\\ud800x"]`), { kind: "strings", values: ["\ufffdx"], spans: [[1, 10]] });
});

test.run();
