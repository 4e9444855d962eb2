import { spawn } from "node:child_process";
import { readdir, readFile } from "node:fs/promises";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { isTsbuildError } from "../../errors.js";
import { listTree, RUNTIMES, withSandbox } from "./sandbox-fixture.js";

/** Host processes whose command line contains `marker`. */
async function processesWith(marker: string): Promise<number[]> {
  const pids: number[] = [];
  for (const name of await readdir("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const cmdline = await readFile(`/proc/${name}/cmdline`, "utf8").catch(() => "");
    if (cmdline.split("\0").includes(marker)) pids.push(Number(name));
  }
  return pids;
}

for (const runtime of RUNTIMES) {
  test(`${runtime}: an abort in mid-RUN kills the process tree and leaves nothing behind`, async () => {
    await withSandbox(runtime, async (sandbox) => {
      const marker = String(7000 + Math.floor(Math.random() * 1000));
      const before = await listTree(sandbox.rootfs);
      const controller = new AbortController();
      let abortedAt = 0;
      let error: unknown;
      try {
        await sandbox.executor.run(
          sandbox.rootfs,
          {
            args: ["/bin/sh", "-c", `sleep ${marker} & sleep ${marker} & echo started; wait`],
            mounts: [
              { type: "cache", target: "/cache", sharing: "locked" },
              { type: "tmpfs", target: "/scratch" },
            ],
          },
          {
            signal: controller.signal,
            onOutput: (_stream, chunk) => {
              if (chunk.toString().includes("started")) {
                abortedAt = Date.now();
                controller.abort();
              }
            },
          },
        );
      } catch (caught) {
        error = caught;
      }
      assert.ok(isTsbuildError(error, "CANCELLED"), String(error));
      // The sleeps would run for hours: a generous bound still proves the abort did not wait.
      assert.ok(Date.now() - abortedAt < 60_000, "the abort does not wait for the process");
      assert.equal(await sandbox.executor.runtime.list(), [], `${runtime} --root <state> list is empty`);
      assert.equal(await processesWith(marker), [], "no sleep of the sandbox survives");
      assert.equal(await readdir(`${sandbox.root}/executor`), [], "bundle and scratch dirs are gone");
      assert.equal(await listTree(sandbox.rootfs), before, "no mount points are left in the rootfs");
    });
  });
}

test("a signal aborted before the run starts nothing", async () => {
  await withSandbox("runc", async (sandbox) => {
    const before = await listTree(sandbox.rootfs);
    let error: unknown;
    await sandbox.executor.run(sandbox.rootfs, { args: ["/bin/true"] }, { signal: AbortSignal.abort() }).catch((e) => (error = e));
    assert.ok(isTsbuildError(error, "CANCELLED"), String(error));
    assert.equal(await listTree(sandbox.rootfs), before);
    assert.equal(await sandbox.executor.runtime.list(), []);
  });
});

test("an abort while waiting for a locked cache gives up the wait", async () => {
  await withSandbox("runc", async (sandbox) => {
    const mount = { type: "cache", target: "/c", id: "busy", sharing: "locked" } as const;
    const stopHolder = new AbortController();
    let holderSettled = false;
    let holding!: () => void;
    const held = new Promise<void>((resolve) => (holding = resolve));
    const holder = sandbox.executor
      .run(sandbox.rootfs, { args: ["/bin/sh", "-c", "echo held; sleep 600"], mounts: [mount] }, {
        signal: stopHolder.signal,
        onOutput: (_stream, chunk) => chunk.toString().includes("held") && holding(),
      })
      .catch((e: unknown) => e)
      .finally(() => (holderSettled = true));
    try {
      await held;
      const controller = new AbortController();
      const waiter = sandbox.executor.run(sandbox.rootfs, { args: ["/bin/true"], mounts: [mount] }, { signal: controller.signal });
      setTimeout(() => controller.abort(), 100);
      let error: unknown;
      await waiter.catch((e) => (error = e));
      assert.ok(isTsbuildError(error, "CANCELLED"), String(error));
      assert.not.ok(holderSettled, "it gave up while the holder still held the cache");
    } finally {
      stopHolder.abort();
      await holder;
    }
  });
});

for (const runtime of RUNTIMES) {
  test(`${runtime}: cleanStale removes the sandbox of a tsbuild process killed in mid-RUN`, async () => {
    await withSandbox(runtime, async (sandbox) => {
      const marker = String(8000 + Math.floor(Math.random() * 1000));
      const before = await listTree(sandbox.rootfs);
      const executorModule = new URL("../../executor/executor.js", import.meta.url).href;
      const script = `
        import { Executor } from ${JSON.stringify(executorModule)};
        const executor = await Executor.create({ root: ${JSON.stringify(sandbox.root)}, runtime: ${JSON.stringify(runtime)} });
        await executor.run(${JSON.stringify(sandbox.rootfs)}, {
          args: ["/bin/sh", "-c", "echo started; sleep ${marker}; true"],
          mounts: [{ type: "tmpfs", target: "/scratch" }, { type: "cache", target: "/cache" }],
        }, { onOutput: (_s, chunk) => process.stdout.write(chunk) });
      `;
      const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "inherit"] });
      try {
        await new Promise<void>((resolve, reject) => {
          child.stdout.on("data", (chunk: Buffer) => chunk.toString().includes("started") && resolve());
          child.on("exit", (code) => reject(new Error(`the child exited early with ${code}`)));
        });
        child.kill("SIGKILL");
        await new Promise((resolve) => child.once("exit", resolve));
        assert.is((await sandbox.executor.runtime.list()).length, 1, "the dead process's sandbox still runs");
        const cleaned = await sandbox.executor.cleanStale();
        assert.is(cleaned.containers.length, 1);
        assert.is(cleaned.bundles.length, 1);
        assert.equal(await sandbox.executor.runtime.list(), []);
        assert.equal(await processesWith(marker), []);
        assert.equal(await readdir(`${sandbox.root}/executor`), []);
        assert.equal(await listTree(sandbox.rootfs), before);
      } finally {
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
        for (const id of await sandbox.executor.runtime.list()) await sandbox.executor.runtime.delete(id);
      }
    });
  });
}

test("cleanStale leaves the sandboxes of live processes alone", async () => {
  await withSandbox("runc", async (sandbox) => {
    const stop = new AbortController();
    let started!: () => void;
    const up = new Promise<void>((resolve) => (started = resolve));
    const running = sandbox.executor
      .run(sandbox.rootfs, { args: ["/bin/sh", "-c", "echo started; sleep 600"] }, {
        signal: stop.signal,
        onOutput: (_stream, chunk) => chunk.toString().includes("started") && started(),
      })
      .catch((e: unknown) => e);
    try {
      await up;
      assert.equal(await sandbox.executor.cleanStale(), { containers: [], bundles: [] });
      assert.is((await sandbox.executor.runtime.list()).length, 1, "the live sandbox still runs");
    } finally {
      stop.abort();
      await running;
    }
  });
});

test.run();
