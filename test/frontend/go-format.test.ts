import { test } from "uvu";
import * as assert from "uvu/assert";
import { goList, goQuote, goQuoteList } from "../../frontend/go-format.js";

test("goQuote escapes like Go's strconv.Quote", () => {
  assert.is(goQuote('say "hi"\\'), '"say \\"hi\\"\\\\"');
  assert.is(goQuote("a\tb\nc\x07\x00\x7f"), '"a\\tb\\nc\\a\\x00\\x7f"');
  assert.is(goQuote("héllo ☃"), '"héllo ☃"');
  assert.is(goQuote("\u00a0\u200b"), '"\\u00a0\\u200b"');
});

test("lists format as Go's %q and %v of a []string", () => {
  assert.is(goQuoteList(["/bin/sh", "-c", "echo hi"]), '["/bin/sh" "-c" "echo hi"]');
  assert.is(goList(["/data", "/logs"]), "[/data /logs]");
  assert.is(goList([]), "[]");
});

test.run();
