import { test } from "uvu";
import * as assert from "uvu/assert";
import { isTsbuildError } from "../../errors.js";
import { parseGroup, parsePasswd, resolveUser } from "../../executor/user.js";

const passwd = [
  "root:x:0:0:root:/root:/bin/sh",
  "# a comment",
  "",
  "alice:x:1000:1000:Alice:/home/alice:/bin/sh",
  "bob:x:1001:1001::/home/bob:/bin/sh",
  "broken:x:notanumber:1",
  "nohome:x:1002:1002:::",
].join("\n");
const group = ["root:x:0:", "audio:x:29:bob,alice", "staff:x:50:bob", "alice:x:1000:", "bob:x:1001:", "bad:x:"].join("\n");

test("parsePasswd reads the fields and skips comments, blank and malformed lines", () => {
  const entries = parsePasswd(passwd);
  assert.equal(entries.map((e) => e.name), ["root", "alice", "bob", "nohome"]);
  assert.equal(entries[1], { name: "alice", uid: 1000, gid: 1000, home: "/home/alice", shell: "/bin/sh" });
});

test("parseGroup reads member lists", () => {
  const entries = parseGroup(group);
  assert.equal(entries.find((g) => g.name === "audio")?.members, ["bob", "alice"]);
  assert.equal(entries.find((g) => g.name === "root")?.members, []);
  assert.not.ok(entries.some((g) => g.name === "bad"));
});

test("an empty USER is root with root's passwd entry", () => {
  assert.equal(resolveUser("", { passwd, group }), { uid: 0, gid: 0, additionalGids: [], home: "/root" });
});

test("USER by name takes the passwd gid and home, and the groups listing the user as supplementary", () => {
  assert.equal(resolveUser("bob", { passwd, group }), { uid: 1001, gid: 1001, additionalGids: [29, 50], home: "/home/bob" });
});

test("USER by a uid that has a passwd entry resolves like its name", () => {
  assert.equal(resolveUser("1000", { passwd, group }), { uid: 1000, gid: 1000, additionalGids: [29], home: "/home/alice" });
});

test("USER by a uid without a passwd entry gets gid 0 and home /", () => {
  assert.equal(resolveUser("4242", { passwd, group }), { uid: 4242, gid: 0, additionalGids: [], home: "/" });
});

test("an explicit group replaces the primary group and drops supplementary groups", () => {
  assert.equal(resolveUser("bob:staff", { passwd, group }), { uid: 1001, gid: 50, additionalGids: [], home: "/home/bob" });
  assert.equal(resolveUser("bob:777", { passwd, group }), { uid: 1001, gid: 777, additionalGids: [], home: "/home/bob" });
  assert.equal(resolveUser("5:6", {}), { uid: 5, gid: 6, additionalGids: [], home: "/" });
});

test("a passwd entry with an empty home gets /", () => {
  assert.is(resolveUser("nohome", { passwd, group }).home, "/");
});

test("an unknown user name or group name is an error naming it", () => {
  for (const [spec, name] of [["carol", "carol"], ["bob:wheel", "wheel"], ["bob:", "group is empty"]] as const) {
    try {
      resolveUser(spec, { passwd, group });
      assert.unreachable(`"${spec}" resolved`);
    } catch (error) {
      assert.ok(isTsbuildError(error, "NOT_FOUND"), String(error));
      assert.match((error as Error).message, name);
    }
  }
});
test.run();
