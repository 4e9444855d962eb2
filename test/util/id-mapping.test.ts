import { test } from "uvu";
import * as assert from "uvu/assert";
import { formatIdMap, hostIdOf, isIdentityMap, mappedCount, mapsId, parseIdMap } from "../../util/id-mapping.js";

const rootless = parseIdMap("         0       1001          1\n         1     100000      65536\n");

test("parseIdMap reads the kernel's columns; formatIdMap writes them back one line each", () => {
  assert.equal(rootless, [
    { inside: 0, outside: 1001, count: 1 },
    { inside: 1, outside: 100000, count: 65536 },
  ]);
  assert.is(formatIdMap(rootless), "0 1001 1\n1 100000 65536");
  assert.equal(parseIdMap("junk\n1 2\n"), []);
});

test("the initial namespace's map is the identity; a rootless one is not", () => {
  assert.ok(isIdentityMap(parseIdMap("0 0 4294967295")));
  assert.not.ok(isIdentityMap(rootless));
  assert.not.ok(isIdentityMap(parseIdMap("0 0 65536")));
});

test("ids inside map to host ids range by range, and ids beyond the ranges are not mapped", () => {
  assert.is(hostIdOf(rootless, 0), 1001);
  assert.is(hostIdOf(rootless, 1000), 100999);
  assert.is(hostIdOf(rootless, 65536), 165535);
  assert.is(hostIdOf(rootless, 65537), undefined);
  assert.ok(mapsId(rootless, 65536));
  assert.not.ok(mapsId(rootless, 65537));
  assert.not.ok(mapsId(parseIdMap("0 1001 1"), 5));
  assert.is(mappedCount(rootless), 65537);
});

test.run();
