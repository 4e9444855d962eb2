import { mkdir, mkdtemp, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { nativeChanges, overlayChanges } from "../../snapshotter/layer-changes.js";

// Byte order of UTF-8 differs from UTF-16 order once a name has a character above U+FFFF:
// "a😀" (F0 9F ...) sorts after "a！" (EF BC 81), though its first UTF-16 unit (D83D) is smaller.
const NAMES = ["b", "B", "a\u{1F600}", "a\uFF01", "é", "a", "a-", "a.b", "Z"];
const BYTE_ORDER = ["B", "Z", "a", "a-", "a.b", "a\uFF01", "a\u{1F600}", "b", "é"];

test("changes list names in UTF-8 byte order in each directory, parents first, with and without surrogate pairs", async () => {
  const dir = await mkdtemp(join(tmpdir(), "tsb-layer-changes-"));
  try {
    for (const name of NAMES) await writeFile(join(dir, name), name);
    await mkdir(join(dir, "d"));
    for (const name of ["y", "x", "é", "Ä"]) await writeFile(join(dir, "d", name), name);
    const expected = [...BYTE_ORDER.slice(0, 8), "d", "d/x", "d/y", "d/Ä", "d/é", ...BYTE_ORDER.slice(8)];
    for (const changes of [overlayChanges(dir), nativeChanges(dir, undefined)]) {
      const paths: string[] = [];
      for await (const entry of changes) paths.push(entry.path);
      assert.equal(paths, expected);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("native changes against a parent: changed, added and deleted paths, and nothing for unchanged ones", async () => {
  const dir = await mkdtemp(join(tmpdir(), "tsb-layer-changes-"));
  try {
    const [parent, current] = [join(dir, "parent"), join(dir, "current")];
    for (const root of [parent, current]) {
      await mkdir(join(root, "keep"), { recursive: true });
      await writeFile(join(root, "keep", "same"), "same");
    }
    const times = new Date(1_600_000_000_000);
    for (const root of [parent, current]) {
      await utimes(join(root, "keep", "same"), times, times);
      await utimes(join(root, "keep"), times, times);
    }
    await writeFile(join(parent, "gone"), "old");
    await writeFile(join(parent, "edited"), "old");
    await writeFile(join(current, "edited"), "new, longer");
    await writeFile(join(current, "added\u{1F600}"), "added");
    await writeFile(join(current, "added\uFF01"), "added");
    const entries: Array<[string, string, number]> = [];
    for await (const entry of nativeChanges(current, parent)) entries.push([entry.path, entry.type, entry.mode]);
    assert.equal(entries.map(([path]) => path), ["added\uFF01", "added\u{1F600}", "edited", ".wh.gone"]);
    assert.equal(entries[3].slice(1), ["file", 0], "a whiteout is an empty file with mode 0");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
