import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { isTsbuildError } from "../../errors.js";
import { checkEmulation } from "../../executor/emulation.js";

// binfmt_misc as the kernel lists it, in a directory of our own: a handler file per
// registration, in the kernel's format (these are what Debian's qemu-user-static registers).
const QEMU_AARCH64 = [
  "enabled",
  "interpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P",
  "flags: PF",
  "offset 0",
  "magic 7f454c460201010000000000000000000200b700",
  "mask ffffffffffffff00fffffffffffffffffeffffff",
].join("\n");
const QEMU_S390X = [
  "enabled",
  "interpreter /usr/libexec/qemu-binfmt/s390x-binfmt-P",
  "flags: P",
  "offset 0",
  "magic 7f454c4602020100000000000000000000020016",
  "mask fffffffffffffffcfffffffffffffffffffeffff",
].join("\n");

async function withBinfmt(files: Record<string, string>, fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "tsb-binfmt-"));
  try {
    for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), `${text}\n`);
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function failure(promise: Promise<void>): Promise<{ code: string; message: string; hint: string | undefined }> {
  try {
    await promise;
  } catch (error) {
    if (isTsbuildError(error)) return { code: error.code, message: error.message, hint: error.hint };
    throw error;
  }
  throw new Error("expected a failure");
}

const ARM64 = { os: "linux", architecture: "arm64" };

test("the host's own platform needs no emulator, whatever binfmt_misc says", async () => {
  await withBinfmt({}, async (dir) => {
    await checkEmulation({ os: "linux", architecture: "amd64" }, { binfmtDir: dir });
    await checkEmulation({ os: "linux", architecture: "386" }, { binfmtDir: dir });
  });
});

test("an enabled handler for the platform's ELF header, registered with F, lets it run", async () => {
  await withBinfmt({ status: "enabled", register: "", "qemu-aarch64": QEMU_AARCH64 }, async (dir) => {
    await checkEmulation(ARM64, { binfmtDir: dir });
  });
});

test("no handler for the architecture: a SYSTEM error naming qemu-user-static", async () => {
  await withBinfmt({ status: "enabled", "qemu-aarch64": QEMU_AARCH64 }, async (dir) => {
    const error = await failure(checkEmulation({ os: "linux", architecture: "riscv64" }, { binfmtDir: dir }));
    assert.is(error.code, "SYSTEM");
    assert.match(error.message, 'Cannot run programs for "linux/riscv64"');
    assert.match(error.message, "no emulator for riscv64");
    assert.match(error.hint ?? "", "apt-get install qemu-user-static binfmt-support");
  });
});

test("a disabled handler does not count; one without the F flag is named as the problem", async () => {
  await withBinfmt({ status: "enabled", "qemu-aarch64": QEMU_AARCH64.replace("enabled", "disabled") }, async (dir) => {
    assert.match((await failure(checkEmulation(ARM64, { binfmtDir: dir }))).message, "no emulator for arm64");
  });
  await withBinfmt({ status: "enabled", "qemu-s390x": QEMU_S390X }, async (dir) => {
    const error = await failure(checkEmulation({ os: "linux", architecture: "s390x" }, { binfmtDir: dir }));
    assert.match(error.message, "without binfmt_misc's F flag");
  });
});

test("binfmt_misc not mounted, or switched off, says so", async () => {
  await withBinfmt({}, async (dir) => {
    const error = await failure(checkEmulation(ARM64, { binfmtDir: dir }));
    assert.match(error.message, `binfmt_misc is not mounted at ${dir}`);
    assert.match(error.hint ?? "", "mount -t binfmt_misc");
    assert.match(error.hint ?? "", "qemu-user-static");
  });
  await withBinfmt({ status: "disabled", "qemu-aarch64": QEMU_AARCH64 }, async (dir) => {
    assert.match((await failure(checkEmulation(ARM64, { binfmtDir: dir }))).message, "binfmt_misc is disabled");
  });
});

test("a platform that is not linux cannot run at all", async () => {
  const error = await failure(checkEmulation({ os: "windows", architecture: "amd64" }));
  assert.match(error.message, 'Cannot run programs for "windows/amd64": only linux programs run here');
});

test.run();
