import { test } from "uvu";
import * as assert from "uvu/assert";
import { decodePathRecords, encodePathRecords } from "../../solver/path-records.js";

const HEADER = "test records v1";

test("path records read back as written, whatever the path holds, and the same map makes the same bytes in any order", () => {
  const records: Array<[string, string]> = [
    ["plain/file.txt", "1 2 3"],
    ["with\ttab", "a\tb"],
    ["with\nnewline", "x"],
    ['"leading quote', "y"],
    ['middle"quote', "z"],
    ["back\\slash", ""],
    ["ünïcode/ファイル", "u"],
    ["/absolute/path", "abs"],
  ];
  const blob = encodePathRecords(HEADER, records);
  assert.equal(decodePathRecords(HEADER, blob), new Map(records));
  assert.equal(encodePathRecords(HEADER, [...records].reverse()), blob);
  assert.equal(decodePathRecords(HEADER, encodePathRecords(HEADER, [])), new Map());
});

test("a blob of another format or header, or a damaged one, reads as no records", () => {
  const blob = encodePathRecords(HEADER, [["a", "1"], ['"q', "2"]]);
  assert.is(decodePathRecords("other records v1", blob), undefined);
  assert.is(decodePathRecords(HEADER, Buffer.from(JSON.stringify({ a: "1" }))), undefined);
  assert.is(decodePathRecords(HEADER, Buffer.from(`${HEADER}\nno-tab-here\n`)), undefined);
  assert.is(decodePathRecords(HEADER, Buffer.from(`${HEADER}\n"unclosed\t1\n`)), undefined);
});

test.run();
