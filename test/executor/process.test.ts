import { lstat, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { isTsbuildError } from "../../errors.js";
import { ExecError } from "../../executor/exec-error.js";
import { RUNTIMES, runScript, withSandbox } from "./sandbox-fixture.js";

/** Runs `fn`, expecting it to throw; returns what it threw. */
async function rejection(fn: () => Promise<unknown>): Promise<unknown> {
  try {
    await fn();
  } catch (error) {
    return error;
  }
  assert.unreachable("expected a rejection");
  return undefined;
}

test("USER by name runs with its uid, gid and supplementary groups from /etc/group", async () => {
  await withSandbox("runc", async (sandbox) => {
    const { stdout } = await runScript(sandbox, "id -u; id -g; id -G; echo $HOME", { user: "bob" });
    assert.is(stdout, "1001\n1001\n1001 29 50\n/home/bob\n");
  });
});

test("USER by uid resolves the passwd entry; an unknown uid gets gid 0", async () => {
  await withSandbox("runc", async (sandbox) => {
    assert.is((await runScript(sandbox, "id -u; id -g; id -G", { user: "1000" })).stdout, "1000\n1000\n1000\n");
    assert.is((await runScript(sandbox, "id -u; id -g", { user: "4242" })).stdout, "4242\n0\n");
    assert.is((await runScript(sandbox, "id -u; id -g; id -G", { user: "1001:50" })).stdout, "1001\n50\n50\n");
  });
});

test("an unknown USER name fails before anything runs", async () => {
  await withSandbox("runc", async (sandbox) => {
    const error = await rejection(() => runScript(sandbox, "true", { user: "carol" }));
    assert.ok(isTsbuildError(error, "NOT_FOUND"), String(error));
    assert.match((error as Error).message, '"carol"');
  });
});

test("a rootfs /etc/passwd symlinked out of the rootfs is not followed to the host", async () => {
  await withSandbox("runc", async (sandbox) => {
    // The host-side file sits next to the rootfs; a symlink climbing out would reach it.
    await writeFile(join(sandbox.dir, "passwd"), "mallory:x:4000:4000::/:/bin/sh\n");
    await rm(join(sandbox.rootfs, "etc/passwd"));
    await symlink("../../passwd", join(sandbox.rootfs, "etc/passwd"));
    const error = await rejection(() => runScript(sandbox, "true", { user: "mallory" }));
    assert.ok(isTsbuildError(error, "NOT_FOUND"), String(error));
  });
});

test("a missing working directory is created with the user's ids and stays in the rootfs", async () => {
  await withSandbox("runc", async (sandbox) => {
    const { stdout } = await runScript(sandbox, "pwd; stat -c %u:%g /work /work/deep /work/deep/dir; touch here", {
      user: "alice",
      cwd: "/work/deep/dir",
    });
    assert.is(stdout, "/work/deep/dir\n1000:1000\n1000:1000\n1000:1000\n");
    const made = await lstat(join(sandbox.rootfs, "work/deep/dir/here"));
    assert.is(made.uid, 1000);
  });
});

test("env reaches the process as given; PATH and HOME are filled in only when missing", async () => {
  await withSandbox("runc", async (sandbox) => {
    const given = await runScript(sandbox, 'echo "$GREETING"; echo "$PATH"; echo "$HOME"', {
      env: ["GREETING=hello  world", "PATH=/bin:/custom", "HOME=/elsewhere"],
    });
    assert.is(given.stdout, "hello  world\n/bin:/custom\n/elsewhere\n");
    const filled = await runScript(sandbox, 'echo "$PATH"; echo "$HOME"', { user: "alice" });
    assert.is(filled.stdout, "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n/home/alice\n");
  });
});

for (const runtime of RUNTIMES) {
  test(`${runtime}: a non-zero exit is an ExecError with the exit code and the last lines of output`, async () => {
    await withSandbox(runtime, async (sandbox) => {
      const error = await rejection(() => runScript(sandbox, "for i in $(seq 1 30); do echo line $i; done; echo oops; exit 3"));
      assert.instance(error, ExecError);
      const exec = error as ExecError;
      assert.is(exec.code, "EXEC_FAILED");
      assert.is(exec.exitCode, 3);
      assert.match(exec.message, "did not complete successfully: exit code: 3");
      const tail = exec.logTail.split("\n");
      assert.is(tail.length, 20);
      assert.is(tail[18], "line 30");
      assert.is(tail[19], "oops");
      assert.not.ok(tail.includes("line 5"));
    });
  });

  test(`${runtime}: a command that does not exist fails with its name in the error`, async () => {
    await withSandbox(runtime, async (sandbox) => {
      const error = await rejection(() => sandbox.executor.run(sandbox.rootfs, { args: ["/bin/no-such-tool"] }));
      assert.instance(error, ExecError);
      assert.match((error as ExecError).message, "no-such-tool");
      assert.is.not((error as ExecError).exitCode, 0);
    });
  });
}

test("output streams live in order and the log file keeps all of it (more than 1 MB)", async () => {
  await withSandbox("runc", async (sandbox) => {
    const logPath = join(sandbox.dir, "logs/step-1.log");
    const chunks: Array<{ stream: string; chunk: Buffer }> = [];
    await sandbox.executor.run(
      sandbox.rootfs,
      { args: ["/bin/sh", "-c", "echo begin >&2; seq 1 200000; echo end >&2"] },
      { logPath, onOutput: (stream, chunk) => chunks.push({ stream, chunk }) },
    );
    const stdout = Buffer.concat(chunks.filter((c) => c.stream === "stdout").map((c) => c.chunk)).toString();
    const stderr = Buffer.concat(chunks.filter((c) => c.stream === "stderr").map((c) => c.chunk)).toString();
    const expected = Array.from({ length: 200000 }, (_, i) => `${i + 1}\n`).join("");
    assert.ok(expected.length > 1024 * 1024);
    assert.ok(chunks.length > 1, "output arrives in several chunks, not at the end");
    assert.is(stdout, expected);
    assert.is(stderr, "begin\nend\n");
    const log = await readFile(logPath, "utf8");
    assert.is(log.length, expected.length + stderr.length);
    assert.is(log.replace("begin\n", "").replace("end\n", ""), expected);
  });
});

for (const runtime of RUNTIMES) {
  test(`${runtime}: a pids limit stops a fork bomb that runs fine without it`, async () => {
    await withSandbox(runtime, async (sandbox) => {
      const script = "for i in $(seq 1 24); do sleep 1 & done; wait; echo all-forked";
      assert.is((await runScript(sandbox, script)).stdout, "all-forked\n");
      const error = await rejection(() => runScript(sandbox, script, { limits: { pids: 8 } }));
      assert.instance(error, ExecError);
      assert.match((error as ExecError).logTail, /can't fork/);
    });
  });
}

test("crun: a sandbox gets a cgroup of its own only when it has limits (it stays in this process's otherwise)", async () => {
  await withSandbox("crun", async (sandbox) => {
    // Every hierarchy line of /proc/self/cgroup names the sandbox's cgroup; the pids one is there on v1 and v2 alike.
    const own = (await readFile("/proc/self/cgroup", "utf8")).trim();
    const plain = (await runScript(sandbox, "cat /proc/self/cgroup")).stdout.trim();
    assert.is(plain, own);
    const limited = (await runScript(sandbox, "cat /proc/self/cgroup", { limits: { pids: 64 } })).stdout.trim();
    assert.match(limited, /\/tsbuild\/tsbuild-/);
  });
});

test("a memory limit gets a process that needs more killed; without it the same process runs", async () => {
  await withSandbox("runc", async (sandbox) => {
    // dd allocates its whole block size at once.
    const script = "dd if=/dev/zero of=/dev/null bs=64M count=1 2>/dev/null; echo status=$?";
    assert.is((await runScript(sandbox, script)).stdout, "status=0\n");
    const limited = await runScript(sandbox, script, { limits: { memoryBytes: 16 * 1024 * 1024 } });
    assert.is(limited.stdout, "status=137\n", "dd was SIGKILLed by the OOM killer");
  });
});

test("network default means the executor's defaultNetwork", async () => {
  await withSandbox(
    "runc",
    async (sandbox) => {
      const { stdout } = await runScript(sandbox, "cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d ' '", { network: "default" });
      assert.is(stdout, "lo\n");
    },
    { executor: { defaultNetwork: "none" } },
  );
});

test.run();
