import { test } from "uvu";
import * as assert from "uvu/assert";
import { executeGoTemplate } from "../../cli/format/execute-go-template.js";
import { formatRows, tabwrite } from "../../cli/format/format-rows.js";
import { goStruct } from "../../cli/format/go-value.js";
import { parseGoTemplate } from "../../cli/format/parse-go-template.js";
import { isTsbuildError } from "../../errors.js";

const DATA = { S: "x", L: ["a", "b"], E: [], M: { b: "2", a: "1" }, N: 3, F: 1.5, T: true, Z: null, Nest: { Inner: { Deep: "d" } } };
const render = (template: string, data: unknown = DATA) => executeGoTemplate(parseGoTemplate(template), data);

// Each expectation is what Go's text/template (with docker's functions) prints.
const CASES: Array<[string, string]> = [
  ["{{.S}} {{.Nest.Inner.Deep}} {{.N}} {{.T}}", "x d 3 true"],
  ["{{.L}} {{.E}} {{.M}} {{.Z}} {{.Missing}}", "[a b] [] map[a:1 b:2] <nil> <no value>"],
  ["{{.F}} {{1e21}} {{0.00001}} {{-7}} {{0x1F}}", "1.5 1e+21 1e-05 -7 31"],
  ["{{json .Nest}} {{json .L}} {{json .S}} {{json .Z}}", '{"Inner":{"Deep":"d"}} ["a","b"] "x" null'],
  ['{{json "<a&b>"}}', '"<a&b>"'],
  ["{{range $i, $e := .L}}{{$i}}={{$e}};{{end}}", "0=a;1=b;"],
  ["{{range $k, $v := .M}}{{$k}}:{{$v}} {{end}}", "a:1 b:2 "],
  ["{{range .E}}{{.}}{{else}}none{{end}}", "none"],
  ["{{range 3}}{{.}}{{end}}", "012"],
  ['{{range .L}}{{if eq . "a"}}{{continue}}{{end}}{{.}}{{end}}', "b"],
  ['{{range .L}}{{.}}{{if eq . "a"}}{{break}}{{end}}{{end}}', "a"],
  ['{{if eq .S "y"}}y{{else if eq .S "x" "z"}}x-or-z{{else}}no{{end}}', "x-or-z"],
  ["{{if .E}}full{{else}}empty{{end}} {{if .M}}map{{end}} {{if not .Z}}nil{{end}}", "empty map nil"],
  ["{{with .Nest.Inner}}{{.Deep}}{{end}}{{with .Z}}never{{else}} none{{end}}", "d none"],
  ["{{$x := .S}}{{$x}}{{$x = .N}}{{$x}} {{range .L}}{{$.S}}{{end}}", "x3 xx"],
  ["a  {{- .S -}}  b {{/* a comment */}}c\n  {{- /* trimmed */ -}}\n  d", "axb cd"],
  ['{{.S | printf "%q"}} {{printf "%-5s|%5d|%05d" "ab" 42 -7}}', '"x" ab   |   42|-0007'],
  ['{{printf "%v %s %d" .L .L .N}} {{printf "%x %X %o %b %c" 255 255 8 5 65}}', "[a b] [a b] 3 ff FF 10 101 A"],
  ['{{printf "%.2f %t %5.1f%%" 3.14159 true 2.24}}', "3.14 true   2.2%"],
  ['{{printf "%d" "x"}} {{printf "%s"}} {{printf "%s" "a" "b"}}', "%!d(string=x) %!s(MISSING) a%!(EXTRA string=b)"],
  ['{{print 1 2 "a" 3}} {{println "a" 1}}', "1 2a3 a 1\n"],
  ['{{len .L}} {{len .M}} {{len "héllo"}} {{index .M "a"}} {{index .L 1}}', "2 2 6 1 b"],
  ['{{slice "abcdef" 1 3}} {{slice .L 1}} {{(index .L 0)}} {{(.Nest).Inner.Deep}}', "bc [b] a d"],
  ['{{and 1 0}} {{and 1 "z"}} {{or "" "z"}} {{or 0 ""}} {{not .S}}', '0 z z  false'],
  ['{{lt 1 2}} {{le 2 2}} {{gt "b" "a"}} {{ge 1 2}} {{ne .S "x"}}', "true true true false false"],
  ['{{join .L ","}} {{split "a:b:c" ":"}} {{upper "ab"}} {{lower "AB"}} {{title "hello wide world"}}', "a,b [a b c] AB ab Hello Wide World"],
  ['[{{pad "x" 1 2}}][{{pad "" 1 2}}] {{truncate "abcdef" 3}} {{truncate "ab" 3}}', "[ x  ][] abc ab"],
  ['{{html "<a href=\'x\'>"}} {{urlquery "a b&c"}} {{"quote\\t\\"d\\""}} {{`raw\\n`}}', '&lt;a href=&#39;x&#39;&gt; a+b%26c quote\t"d" raw\\n'],
];

test("templates print what Go's text/template prints", () => {
  for (const [template, expected] of CASES) assert.is(render(template), expected, template);
});

test("a struct's fields are a fixed set, a method field takes arguments, and json of a struct escapes HTML as docker's rows do", () => {
  const row = goStruct({ ID: "abc", Label: (name: unknown) => ({ a: "1" })[name as string] ?? "", Tag: "<none>" });
  assert.is(render('{{.ID}} {{.Label "a"}}|{{.Label "b"}}|{{"a" | .Label}}', row), "abc 1||1");
  assert.is(render("{{json .}}", row), '{"ID":"abc","Tag":"\\u003cnone\\u003e"}');
  assert.throws(() => render("{{.Nope}}", row), /at <\.Nope>: can't evaluate field Nope/);
  // index of a key a map lacks is the zero value of docker's string maps (labels): "".
  assert.is(render('[{{index .M "none"}}]'), "[]");
});

test("templates that do not parse or cannot run say where and why", () => {
  const errors: Array<[string, RegExp]> = [
    ["{{.S", /:1: unclosed action/],
    ["{{if .S}}x", /:1: unexpected EOF: \{\{if\}\} has no \{\{end\}\}/],
    ["a\n{{end}}", /:2: unexpected \{\{end\}\}/],
    ['{{define "x"}}{{end}}', /\{\{define\}\} is not supported/],
    ["{{break}}", /\{\{break\}\} outside \{\{range\}\}/],
    ['{{"open}}', /unterminated quoted string|unclosed action/],
  ];
  for (const [template, pattern] of errors) assert.throws(() => parseGoTemplate(template), pattern, template);
  assert.throws(() => render("{{nofunc .S}}"), /at <nofunc \.S>: function "nofunc" not defined/);
  assert.throws(() => render("{{.Missing.Field}}"), /nil pointer evaluating interface \{\}\.Field/);
  assert.throws(() => render("{{index .L 5}}"), /error calling index: index out of range: 5/);
  assert.throws(() => render('{{eq .N "3"}}'), /incompatible types for comparison/);
  assert.throws(() => render("{{.S 1}}"), /can't give argument to non-function \.S/);
  assert.throws(() => render("{{range .S}}{{end}}"), /range can't iterate over x/);
});

test("formatRows: a table gets docker's headers and tabwriter columns; json is one object a line; -q is the ids", () => {
  const rows = [
    { ID: "1111", Repository: "busybox", Tag: "latest" },
    { ID: "22", Repository: "a-much-longer-name", Tag: "1" },
  ];
  const headers = { ID: "IMAGE ID", Repository: "REPOSITORY", Tag: "TAG" };
  const table = "table {{.Repository}}\\t{{.Tag}}\\t{{.ID}}";
  // Columns: the widest cell plus 3, at least 10; the last is not padded.
  const line = (a: string, b: string, c: string) => `${a.padEnd(21)}${b.padEnd(10)}${c}\n`;
  assert.is(formatRows(rows, { format: undefined, table, headers }), line("REPOSITORY", "TAG", "IMAGE ID") + line("busybox", "latest", "1111") + line("a-much-longer-name", "1", "22"));
  assert.is(formatRows(rows, { format: "table {{.ID}}:{{.Tag}}", table, headers }), "IMAGE ID:TAG\n1111:latest\n22:1\n");
  assert.is(formatRows(rows, { format: "{{.Repository}}\\t{{.Tag}}", table, headers }), "busybox\tlatest\na-much-longer-name\t1\n");
  assert.is(formatRows(rows.slice(0, 1), { format: "json", table, headers }), '{"ID":"1111","Repository":"busybox","Tag":"latest"}\n');
  assert.is(formatRows(rows, { format: "{{.Tag}}", table, headers, quiet: true }), "1111\n22\n");
  assert.is(formatRows([], { format: "table {{.ID}}\\t{{.Nope}}", table, headers }), "IMAGE ID   <no value>\n");
  try {
    formatRows(rows, { format: "{{.Nope}}", table, headers });
    assert.unreachable("an unknown field of a row is an error");
  } catch (error) {
    assert.ok(isTsbuildError(error, "USAGE"));
    assert.match((error as Error).message, /^Cannot execute --format: template: executing "" at <\.Nope>: can't evaluate field Nope$/);
  }
});

test("tabwrite aligns column blocks as Go's tabwriter: lines without a cell end the block", () => {
  const expected = `${"a".padEnd(14)}${"b".padEnd(10)}c\n${"longer-cell".padEnd(14)}b\n\n${"x".padEnd(10)}y\n`;
  assert.is(tabwrite("a\tb\tc\nlonger-cell\tb\n\nx\ty\n"), expected);
});

test.run();
