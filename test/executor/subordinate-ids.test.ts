import { test } from "uvu";
import * as assert from "uvu/assert";
import { parseSubordinateIds } from "../../executor/subordinate-ids.js";

const FILE = `# ranges
alice:100000:65536
1002:200000:1000
alice:300000:10
bob:400000:65536
broken:x:1
alice:500000:0
`;

test("a user's ranges are the lines naming them by name or by number, in file order", () => {
  assert.equal(parseSubordinateIds(FILE, { name: "alice", id: 1001 }), [
    { start: 100000, count: 65536 },
    { start: 300000, count: 10 },
  ]);
  assert.equal(parseSubordinateIds(FILE, { name: "carol", id: 1002 }), [{ start: 200000, count: 1000 }]);
  assert.equal(parseSubordinateIds(FILE, { id: 1002 }), [{ start: 200000, count: 1000 }]);
});

test("malformed lines, empty ranges and other users give nothing", () => {
  assert.equal(parseSubordinateIds(FILE, { name: "broken", id: 7 }), []);
  assert.equal(parseSubordinateIds(FILE, { name: "dave", id: 1003 }), []);
  assert.equal(parseSubordinateIds("", { name: "alice", id: 1001 }), []);
});

test.run();
