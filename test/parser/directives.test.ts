import { test } from "uvu";
import * as assert from "uvu/assert";
import { detectSyntax, DirectiveError, findDirective, parseDirectives } from "../../parser/directives.js";

test("directives are read from the leading comment lines, names case-insensitive", () => {
  assert.equal(parseDirectives("# EScape=`\n#syntax = docker/dockerfile:1 \nFROM x\n"), [
    { name: "escape", value: "`", line: 1 },
    { name: "syntax", value: "docker/dockerfile:1", line: 2 },
  ]);
});

test("an unknown key, a blank line or a plain comment ends the directive section", () => {
  assert.equal(parseDirectives("# key=value\n# escape=`\n"), []);
  assert.equal(parseDirectives("\n# escape=`\n"), []);
  assert.equal(parseDirectives("# hello\n# escape=`\n"), []);
});

test("a repeated directive is an error", () => {
  assert.throws(() => parseDirectives("# check=a\n# CHECK=b\n"), (error: unknown) => error instanceof DirectiveError);
});

test("detectSyntax accepts #, // and JSON forms and skips a shebang and a BOM", () => {
  assert.equal(detectSyntax("# syntax = a/b:1 // opts\nFROM x\n"), { ref: "a/b:1", cmdline: "a/b:1 // opts", line: 1 });
  assert.equal(detectSyntax("#!/bin/sh\n//syntax=x"), { ref: "x", cmdline: "x", line: 2 });
  assert.equal(detectSyntax('{"syntax": "foo"}'), { ref: "foo", cmdline: "foo", line: 0 });
  assert.equal(detectSyntax("\ufeff# syntax=y\n")?.ref, "y");
  assert.is(detectSyntax("#!/bin/sh\n\n# syntax=x\n"), undefined);
});

test("findDirective reads only the # form", () => {
  assert.equal(findDirective("check", "#check = skip=all\n")?.ref, "skip=all");
  assert.is(findDirective("check", "//check=skip=all\n"), undefined);
});

test("a directive with a very long blank run is read in linear time", () => {
  const started = performance.now();
  assert.equal(parseDirectives(`# syntax=a${" ".repeat(60000)}b\n`)[0].value, `a${" ".repeat(60000)}b`);
  assert.ok(performance.now() - started < 1000);
});

test.run();
