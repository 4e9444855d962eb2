import { test } from "uvu";
import * as assert from "uvu/assert";
import { goQuote } from "../../parser/go-quote.js";

test("plain ASCII is wrapped in double quotes unchanged", () => {
  assert.is(goQuote("echo hello world"), '"echo hello world"');
  assert.is(goQuote(""), '""');
});

test("quotes and backslashes are escaped", () => {
  assert.is(goQuote('a"b\\c'), '"a\\"b\\\\c"');
});

test("control characters use Go's short escapes, then \\x", () => {
  assert.is(goQuote("\x07\b\f\n\r\t\v"), '"\\a\\b\\f\\n\\r\\t\\v"');
  assert.is(goQuote("\x00\x1b\x7f"), '"\\x00\\x1b\\x7f"');
});

test("printable Unicode stays as it is", () => {
  assert.is(goQuote("café ♥ ☃ 한국어"), '"café ♥ ☃ 한국어"');
  assert.is(goQuote("😀"), '"😀"');
});

test("non-printable Unicode uses \\u or \\U", () => {
  assert.is(goQuote("\u00a0\u0085\u200b\u2028\ufeff"), '"\\u00a0\\u0085\\u200b\\u2028\\ufeff"');
  assert.is(goQuote("\u{e0001}"), '"\\U000e0001"');
  assert.is(goQuote("\u{10ffff}"), '"\\U0010ffff"');
});

test("a lone surrogate is written as a \\u escape", () => {
  assert.is(goQuote("a\ud800b"), '"a\\ud800b"');
  assert.is(goQuote("\udc00"), '"\\udc00"');
});

test.run();
