import { test } from "uvu";
import * as assert from "uvu/assert";
import { chompHeredocContent, heredocsFromLine, HeredocWordError, parseHeredocWord } from "../../parser/heredoc.js";

test("parseHeredocWord reads the terminator, quoting, chomping and fd", () => {
  assert.equal(parseHeredocWord("<<EOF"), { name: "EOF", expand: true, chomp: false, fileDescriptor: 0 });
  assert.equal(parseHeredocWord("<<-'EOF'"), { name: "EOF", expand: false, chomp: true, fileDescriptor: 0 });
  assert.equal(parseHeredocWord('<<E"O"F'), { name: "EOF", expand: false, chomp: false, fileDescriptor: 0 });
  assert.equal(parseHeredocWord("3<<EOF"), { name: "EOF", expand: true, chomp: false, fileDescriptor: 3 });
  assert.equal(parseHeredocWord("<< EOF"), { name: "EOF", expand: true, chomp: false, fileDescriptor: 0 });
});

test("parseHeredocWord rejects words that are not openers", () => {
  for (const word of ["", "EOF", "<<", "<<-", "<EOF", "<<<EOF", "<<EOF sh"]) assert.is(parseHeredocWord(word), undefined, word);
});

test("parseHeredocWord fails on an unterminated quote", () => {
  assert.throws(() => parseHeredocWord("<<'EOF"), (error: unknown) => error instanceof HeredocWordError);
  assert.throws(() => parseHeredocWord('<<EOF"'), (error: unknown) => error instanceof HeredocWordError);
});

test("heredocsFromLine finds every opener, but not quoted ones nor <<- followed by a space", () => {
  assert.equal(heredocsFromLine("RUN <<EOF <<EOF2").map((h) => h.name), ["EOF", "EOF2"]);
  assert.equal(heredocsFromLine("RUN << -EOF").map((h) => h.name), ["-EOF"]);
  assert.equal(heredocsFromLine("RUN '<<EOF'"), []);
  assert.equal(heredocsFromLine('RUN "<<EOF"'), []);
  assert.equal(heredocsFromLine("RUN <<- EOF"), []);
});

test("chompHeredocContent removes leading tabs of every line, not spaces", () => {
  assert.is(chompHeredocContent("\thello\n\t\tworld\n  kept\n"), "hello\nworld\n  kept\n");
  assert.is(chompHeredocContent("a\r\tb\n\tc"), "a\r\tb\nc");
});

test.run();
