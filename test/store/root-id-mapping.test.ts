import { readFile, writeFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { isTsbuildError } from "../../errors.js";
import { checkRootIdMapping, sameIds } from "../../store/root-id-mapping.js";
import { parseIdMap, type IdMapping } from "../../util/id-mapping.js";
import { withTempDir } from "./temp-dir.js";

const map = (text: string): IdMapping => ({ uids: parseIdMap(text), gids: parseIdMap(text) });
const rootful = map("0 0 4294967295");
const single = map("0 1001 1");
const ranged = map("0 1001 1\n1 100000 65536");

test("sameIds: every recorded id must map to the same host id now", () => {
  assert.ok(sameIds(single.uids, ranged.uids), "a map that grew keeps the old ids");
  assert.not.ok(sameIds(ranged.uids, single.uids), "a map that shrank loses ids");
  assert.not.ok(sameIds(ranged.uids, parseIdMap("0 1001 1\n1 200000 65536")), "moved ranges give files other owners");
  assert.not.ok(sameIds(rootful.uids, ranged.uids));
  assert.not.ok(sameIds(ranged.uids, rootful.uids));
  assert.ok(sameIds(parseIdMap("0 1001 1\n1 100000 10"), parseIdMap("0 1001 1\n1 100000 5\n6 100005 5")), "split ranges that agree");
});

async function withRoot(fn: (root: string) => Promise<void>): Promise<void> {
  await withTempDir(async (dir) => {
    await mkdir(join(dir, "metadata"));
    await fn(dir);
  });
}

const record = (root: string) => readFile(join(root, "metadata", "id-mapping.json"), "utf8");

test("the first writer records its map; the same map opens again", async () => {
  await withRoot(async (root) => {
    await checkRootIdMapping(root, { mapping: ranged });
    assert.is(await record(root), '{"uidMap":"0 1001 1\\n1 100000 65536","gidMap":"0 1001 1\\n1 100000 65536"}\n');
    await checkRootIdMapping(root, { mapping: ranged });
  });
});

test("a rootful tsbuild refuses a rootless root and a rootless one a rootful root", async () => {
  await withRoot(async (root) => {
    await checkRootIdMapping(root, { mapping: ranged });
    const refused = await checkRootIdMapping(root, { mapping: rootful }).then(() => undefined, (error: unknown) => error);
    assert.ok(isTsbuildError(refused, "CONFLICT"));
    assert.match((refused as Error).message, /it belongs to a rootless tsbuild of uid 1001 \(ids 0 1001 1, 1 100000 65536\), and this is a rootful tsbuild/);
  });
  await withRoot(async (root) => {
    await checkRootIdMapping(root, { mapping: rootful });
    const refused = await checkRootIdMapping(root, { mapping: single }).then(() => undefined, (error: unknown) => error);
    assert.ok(isTsbuildError(refused, "CONFLICT"));
    assert.match((refused as Error).message, /it belongs to a rootful tsbuild \(the host's ids\), and this is a rootless tsbuild of uid 1001/);
  });
});

test("a map that grew (the user got subordinate ids) is recorded; read-only roots are checked, not written", async () => {
  await withRoot(async (root) => {
    await checkRootIdMapping(root, { mapping: single });
    await checkRootIdMapping(root, { mapping: ranged, readOnly: true });
    assert.match(await record(root), /"uidMap":"0 1001 1"/);
    await checkRootIdMapping(root, { mapping: ranged });
    assert.match(await record(root), /"uidMap":"0 1001 1\\n1 100000 65536"/);
  });
  await withRoot(async (root) => {
    await writeFile(join(root, "metadata", "id-mapping.json"), "{not json");
    await checkRootIdMapping(root, { mapping: rootful });
    assert.match(await record(root), /"uidMap":"0 0 4294967295"/, "an unreadable record is written anew");
  });
});

test.run();
