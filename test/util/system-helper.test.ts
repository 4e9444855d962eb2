import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { isTsbuildError } from "../../errors.js";
import { isMountPoint, performMount, performUnmount } from "../../snapshotter/mount-table.js";
import { packageFile } from "../../util/package-file.js";
import { sealedCopy, treeXattrs } from "../../util/system-helper.js";

/** Two layers, an upper and a work directory under `dir`, and the overlay over them with layers named from `dir`. */
async function overlayIn(dir: string): Promise<{ type: string; source: string; options: string[] }> {
  for (const sub of ["low1", "low2", "up", "work", "mnt"]) await mkdir(join(dir, sub));
  await writeFile(join(dir, "low1", "a"), "from the top layer");
  await writeFile(join(dir, "low2", "a"), "hidden");
  await writeFile(join(dir, "low2", "b"), "from the bottom layer");
  return { type: "overlay", source: "overlay", options: ["lowerdir=low1:low2", `upperdir=${join(dir, "up")}`, `workdir=${join(dir, "work")}`, "index=off"] };
}

/** The names of this process's child processes. */
function childNames(): string[] {
  const children = spawnSync("sh", ["-c", `for c in $(cat /proc/${process.pid}/task/*/children); do cat /proc/$c/comm; done`], { encoding: "utf8" }).stdout;
  return children.split("\n").filter((name) => name !== "");
}

test("the system helper is built, and mounts an overlay whose layers are named from a directory, then unmounts it", async () => {
  assert.ok(spawnSync("test", ["-x", packageFile("dist/util/system-helper")]).status === 0, "npm run build compiled the helper (setup.sh installs gcc)");
  const dir = await mkdtemp(join(tmpdir(), "tsbuild-system-helper-"));
  try {
    const mount = await overlayIn(dir);
    await performMount(mount, join(dir, "mnt"), { cwd: dir });
    try {
      assert.ok(await isMountPoint(join(dir, "mnt")));
      assert.is(await readFile(join(dir, "mnt", "a"), "utf8"), "from the top layer");
      assert.is(await readFile(join(dir, "mnt", "b"), "utf8"), "from the bottom layer");
      assert.ok(childNames().includes("system-helper"), "through the helper, not mount(8)");
      await writeFile(join(dir, "mnt", "c"), "written");
    } finally {
      await performUnmount(join(dir, "mnt"));
    }
    assert.not.ok(await isMountPoint(join(dir, "mnt")));
    assert.equal(await readdir(join(dir, "up")), ["c"], "the write went to the upper directory");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("a failed mount or unmount through the helper is a SYSTEM error naming the target and the system's reason", async () => {
  const dir = await mkdtemp(join(tmpdir(), "tsbuild-system-helper-"));
  try {
    const mount = await overlayIn(dir);
    const missing = join(dir, "no-such-dir");
    let error: unknown;
    await performMount(mount, missing, { cwd: dir }).catch((e: unknown) => (error = e));
    assert.ok(isTsbuildError(error, "SYSTEM"), String(error));
    assert.match((error as Error).message, `Cannot mount overlay on "${missing}": No such file or directory`);
    error = undefined;
    await performUnmount(join(dir, "mnt")).catch((e: unknown) => (error = e));
    assert.ok(isTsbuildError(error, "SYSTEM"), String(error));
    assert.match((error as Error).message, `Cannot unmount "${join(dir, "mnt")}": Invalid argument`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("with TSBUILD_SYSTEM_HELPER=off, overlays are mounted and unmounted with mount(8) and umount(8)", async () => {
  const dir = await mkdtemp(join(tmpdir(), "tsbuild-system-helper-"));
  try {
    await overlayIn(dir);
    const script = `
      import { performMount, performUnmount, isMountPoint } from ${JSON.stringify(new URL("../../snapshotter/mount-table.js", import.meta.url).href)};
      import { readFileSync } from "node:fs";
      import { execSync } from "node:child_process";
      const dir = ${JSON.stringify(dir)};
      await performMount({ type: "overlay", source: "overlay", options: ["lowerdir=low1:low2", dir + "/up", dir + "/work"].map((o, i) => i === 0 ? o : (i === 1 ? "upperdir=" : "workdir=") + o).concat("index=off") }, dir + "/mnt", { cwd: dir });
      const names = execSync("for c in $(cat /proc/" + process.pid + "/task/*/children); do cat /proc/$c/comm; done", { encoding: "utf8" });
      console.log(readFileSync(dir + "/mnt/b", "utf8"), await isMountPoint(dir + "/mnt"), names.includes("system-helper"));
      await performUnmount(dir + "/mnt");
      console.log(await isMountPoint(dir + "/mnt"));`;
    const result = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8", env: { ...process.env, TSBUILD_SYSTEM_HELPER: "off", FORCE_COLOR: "0" } });
    assert.is(result.status, 0, result.stderr);
    assert.equal(result.stdout.trim().split("\n"), ["from the bottom layer true false", "false"]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("the helper reads the asked-for xattrs of a whole tree, symlinks not followed, names of any bytes", async () => {
  const dir = await mkdtemp(join(tmpdir(), "tsbuild-system-helper-"));
  try {
    const odd = join(dir, "sub", "na me\nwith \u00e9");
    await mkdir(join(dir, "sub"));
    await writeFile(odd, "x");
    await writeFile(join(dir, "plain"), "x");
    await symlink("plain", join(dir, "link"));
    const capability = Buffer.from("0100000200200000000000000000000000000000", "hex");
    execFileSync("setfattr", ["-n", "security.capability", "-v", `0x${capability.toString("hex")}`, odd]);
    execFileSync("setfattr", ["-n", "trusted.overlay.opaque", "-v", "y", join(dir, "sub")]);
    execFileSync("setfattr", ["-n", "user.unasked", "-v", "z", join(dir, "plain")]);
    const table = await treeXattrs(dir, ["security.capability", "trusted.overlay.opaque"]);
    assert.ok(table !== undefined, "the helper serves");
    assert.equal([...table.keys()].sort(), [join(dir, "sub"), odd].sort(), "only files with an asked-for attribute");
    assert.equal(table.get(odd)?.get("security.capability"), capability);
    assert.is(table.get(join(dir, "sub"))?.get("trusted.overlay.opaque")?.toString(), "y");
    let error: unknown;
    await treeXattrs(join(dir, "missing"), ["security.capability"]).catch((e: unknown) => (error = e));
    assert.ok(isTsbuildError(error, "SYSTEM"), String(error));
    assert.match((error as Error).message, `Cannot read the extended attributes under "${join(dir, "missing")}": No such file or directory`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("a sealed copy runs as the program it copies, and nothing can change it", async () => {
  const copy = await sealedCopy("/bin/echo");
  assert.ok(copy?.path !== undefined, "the helper serves");
  const path = copy.path;
  assert.match(path, /^\/proc\/\d+\/fd\/\d+$/);
  assert.equal(readFileSync(path), readFileSync("/bin/echo"));
  assert.is(execFileSync(path, ["sealed"], { encoding: "utf8" }), "sealed\n");
  assert.throws(() => writeFileSync(path, "changed"), /EPERM/, "no truncating or writing");
  assert.throws(() => writeFileSync(path, "more", { flag: "a" }), /EPERM/, "no growing");
  let error: unknown;
  await sealedCopy("/nonexistent/program").catch((e: unknown) => (error = e));
  assert.ok(isTsbuildError(error, "SYSTEM"), String(error));
  assert.match((error as Error).message, 'Cannot make a sealed copy of "/nonexistent/program": No such file or directory');
});

test.run();
