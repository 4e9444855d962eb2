import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { SYSTEM_ROOT, resolveRoot } from "../../store/resolve-root.js";

test("--root wins over TSBUILD_ROOT, and a relative root is made absolute", () => {
  assert.is(resolveRoot({ root: "rel/dir", env: { TSBUILD_ROOT: "/env/root" }, uid: 0 }), resolve("rel/dir"));
});

test("TSBUILD_ROOT is used when there is no --root, even as root", () => {
  assert.is(resolveRoot({ env: { TSBUILD_ROOT: "/env/root" }, uid: 0 }), "/env/root");
  assert.is(resolveRoot({ root: "", env: { TSBUILD_ROOT: "/env/root" }, uid: 1000 }), "/env/root");
});

test("root gets /var/lib/tsbuild", () => {
  assert.is(resolveRoot({ env: { XDG_DATA_HOME: "/x" }, uid: 0 }), SYSTEM_ROOT);
  assert.is(SYSTEM_ROOT, "/var/lib/tsbuild");
});

test("a rootless tsbuild, uid 0 in its user namespace, keeps the user's root", () => {
  assert.is(resolveRoot({ env: { XDG_DATA_HOME: "/data", TSBUILD_ROOTLESS: "/run/user/1000/tsbuild" }, uid: 0 }), "/data/tsbuild");
});

test("other users get $XDG_DATA_HOME/tsbuild, else ~/.local/share/tsbuild", () => {
  assert.is(resolveRoot({ env: { XDG_DATA_HOME: "/data" }, uid: 1000 }), "/data/tsbuild");
  assert.is(resolveRoot({ env: { HOME: "/home/u" }, uid: 1000 }), "/home/u/.local/share/tsbuild");
  assert.is(resolveRoot({ env: { HOME: "/home/u", XDG_DATA_HOME: "relative" }, uid: 1000 }), "/home/u/.local/share/tsbuild", "a relative XDG_DATA_HOME is ignored");
  assert.is(resolveRoot({ env: {}, uid: 1000 }), join(homedir(), ".local", "share", "tsbuild"));
});

test.run();
