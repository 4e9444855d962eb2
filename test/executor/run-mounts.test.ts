import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { isTsbuildError } from "../../errors.js";
import { listTree, RUNTIMES, runScript, withSandbox } from "./sandbox-fixture.js";

test("a cache mount persists between two runs and is not in the rootfs afterwards", async () => {
  await withSandbox("runc", async (sandbox) => {
    const before = await listTree(sandbox.rootfs);
    const cache = { type: "cache", target: "/var/cache/app", id: "app-cache" } as const;
    await runScript(sandbox, "echo kept > /var/cache/app/file", { mounts: [cache] });
    assert.equal(await listTree(sandbox.rootfs), before);
    const { stdout } = await runScript(sandbox, "cat /var/cache/app/file", { mounts: [cache] });
    assert.is(stdout, "kept\n");
  });
});

test("a new cache directory gets the mount's uid, gid and mode", async () => {
  await withSandbox("runc", async (sandbox) => {
    const { stdout } = await runScript(sandbox, "stat -c %u:%g:%a /c", {
      mounts: [{ type: "cache", target: "/c", uid: 1000, gid: 1001, mode: 0o750 }],
    });
    assert.is(stdout, "1000:1001:750\n");
  });
});

test("locked cache users run one after the other", async () => {
  await withSandbox("runc", async (sandbox) => {
    const mount = { type: "cache", target: "/c", id: "locked", sharing: "locked" } as const;
    const script = "echo start >> /c/log; sleep 0.4; echo end >> /c/log";
    await Promise.all([runScript(sandbox, script, { mounts: [mount] }), runScript(sandbox, script, { mounts: [mount] })]);
    const { stdout } = await runScript(sandbox, "cat /c/log", { mounts: [mount] });
    assert.is(stdout, "start\nend\nstart\nend\n");
  });
});

test("shared cache users see each other at once", async () => {
  await withSandbox("runc", async (sandbox) => {
    const mount = { type: "cache", target: "/c", id: "shared" } as const;
    // Each waits (up to a minute) for the other's file: they meet only if they share /c.
    const script = (me: string) => `touch /c/${me}; i=0; while [ $(ls /c | wc -l) -lt 2 ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done; ls /c | wc -l`;
    const outputs = await Promise.all([runScript(sandbox, script("a"), { mounts: [mount] }), runScript(sandbox, script("b"), { mounts: [mount] })]);
    assert.equal(outputs.map((o) => o.stdout.trim()), ["2", "2"]);
  });
});

test("a private cache gives a concurrent user its own directory", async () => {
  await withSandbox("runc", async (sandbox) => {
    const mount = { type: "cache", target: "/c", id: "private", sharing: "private" } as const;
    // A shared cache at /s is where the two meet, so both hold /c at the same time.
    const meet = { type: "cache", target: "/s", id: "meeting" } as const;
    const script = (me: string) =>
      `touch /s/${me}; i=0; while [ $(ls /s | wc -l) -lt 2 ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done; touch /c/${me}; ls /c`;
    const outputs = await Promise.all([runScript(sandbox, script("a"), { mounts: [mount, meet] }), runScript(sandbox, script("b"), { mounts: [mount, meet] })]);
    assert.equal(outputs.map((o) => o.stdout).sort(), ["a\n", "b\n"]);
  });
});

test("a read-only bind cannot be written; a read-write bind writes to a copy the source never sees", async () => {
  await withSandbox("runc", async (sandbox) => {
    const source = join(sandbox.dir, "context");
    await mkdir(source);
    await writeFile(join(source, "input.txt"), "from host\n");
    const before = await listTree(sandbox.rootfs);
    const ro = await runScript(sandbox, "cat /src/input.txt; echo x > /src/new 2>/dev/null; echo write=$?", {
      mounts: [{ type: "bind", target: "/src", source }],
    });
    assert.is(ro.stdout, "from host\nwrite=1\n");
    const rw = await runScript(sandbox, "echo changed > /src/input.txt; echo x > /src/new; cat /src/input.txt", {
      mounts: [{ type: "bind", target: "/src", source, readwrite: true }],
    });
    assert.is(rw.stdout, "changed\n");
    assert.is(await readFile(join(source, "input.txt"), "utf8"), "from host\n");
    assert.equal(await readdir(source), ["input.txt"]);
    assert.equal(await listTree(sandbox.rootfs), before);
  });
});

test("a tmpfs mount is a tmpfs of the given size that leaves nothing behind", async () => {
  await withSandbox("runc", async (sandbox) => {
    const before = await listTree(sandbox.rootfs);
    const { stdout } = await runScript(sandbox, "grep ' /scratch ' /proc/mounts; echo data > /scratch/f", {
      mounts: [{ type: "tmpfs", target: "/scratch", sizeBytes: 4 * 1024 * 1024 }],
    });
    assert.match(stdout, /^tmpfs \/scratch tmpfs .*size=4096k/);
    assert.equal(await listTree(sandbox.rootfs), before);
  });
});

for (const runtime of RUNTIMES) {
  test(`${runtime}: a secret is readable in the RUN and absent from the rootfs, the log and the work dir afterwards`, async () => {
    const value = `s3cret-${Math.random().toString(36).slice(2)}`;
    await withSandbox(runtime, async (sandbox) => {
      const secretFile = join(sandbox.dir, "token.txt");
      await writeFile(secretFile, value);
      process.env.TSBUILD_TEST_SECRET = value + "-env";
      const logPath = join(sandbox.dir, "step.log");
      const before = await listTree(sandbox.rootfs);
      try {
        const { stdout } = await runScript(
          sandbox,
          "sha256sum /run/secrets/token | cut -c1-64; stat -c '%a %u' /run/secrets/token; sha256sum /etc/env-secret | cut -c1-64; echo x > /run/secrets/token 2>/dev/null || echo read-only",
          { mounts: [{ type: "secret", id: "token" }, { type: "secret", id: "from-env", target: "/etc/env-secret", uid: 1000 }] },
          { logPath, secrets: { token: { file: secretFile }, "from-env": { env: "TSBUILD_TEST_SECRET" } } },
        );
        const sha = (text: string) => createHash("sha256").update(text).digest("hex");
        assert.is(stdout, `${sha(value)}\n400 0\n${sha(value + "-env")}\nread-only\n`);
      } finally {
        delete process.env.TSBUILD_TEST_SECRET;
      }
      assert.equal(await listTree(sandbox.rootfs), before);
      assert.not.match(await readFile(logPath, "utf8"), value);
      assert.equal(await readdir(join(sandbox.root, "executor")), []);
    });
  });
}

test("a required secret that was not given fails; an optional one is skipped", async () => {
  await withSandbox("runc", async (sandbox) => {
    try {
      await runScript(sandbox, "true", { mounts: [{ type: "secret", id: "missing", required: true }] });
      assert.unreachable("ran without its required secret");
    } catch (error) {
      assert.ok(isTsbuildError(error, "NOT_FOUND"), String(error));
      assert.match((error as Error).message, "secret missing: not found");
    }
    const { stdout } = await runScript(sandbox, "test -e /run/secrets/missing; echo $?", { mounts: [{ type: "secret", id: "missing" }] });
    assert.is(stdout, "1\n");
  });
});

test("mount points created for a run are removed afterwards, but what the process wrote next to them stays", async () => {
  await withSandbox("runc", async (sandbox) => {
    await rm(join(sandbox.rootfs, "etc"), { recursive: true });
    const before = await listTree(sandbox.rootfs);
    assert.not.ok(before.includes("etc/"));
    const mounts = [
      { type: "tmpfs", target: "/a/b/c" },
      { type: "cache", target: "/root/.cache/x" },
    ] as const;
    await runScript(sandbox, "cat /etc/hosts > /dev/null && ls /a/b/c", { mounts: [...mounts] });
    assert.equal(await listTree(sandbox.rootfs), before, "no /etc, /etc/hosts, /a or /root/.cache left");
    await runScript(sandbox, "echo mine > /a/keep", { mounts: [...mounts] });
    assert.equal(await listTree(sandbox.rootfs), [...before, "a/", "a/keep (5)"].sort());
  });
});

test.run();
