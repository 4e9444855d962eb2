import { spawnSync } from "node:child_process";
import { link, lstat, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { isTsbuildError } from "../../errors.js";
import { readProcessStartTime } from "../../store/process-identity.js";
import { acquireFileLock, cleanLockLeftovers, readFileLockOwner, releaseFileLock, withFileLock } from "../../store/file-lock.js";
import { killChild, moduleUrl, runScript, startScript, waitForOutput } from "./child-process.js";
import { withTempDir } from "./temp-dir.js";
import { assertRejects } from "./assert-rejects.js";

const lockModule = moduleUrl("store/file-lock.js", import.meta.url);

/** This process's own owner files, which it keeps between acquisitions until it exits. */
const mine = (name: string) => name.includes(`.owner-${process.pid}-`);
const notMine = (names: string[]) => names.filter((name) => !mine(name));

/** A read-modify-write of a counter that loses updates unless it runs under the lock. */
async function slowIncrement(path: string): Promise<void> {
  const value = Number(await readFile(path, "utf8"));
  await new Promise((resolve) => setTimeout(resolve, 1));
  await writeFile(path, String(value + 1));
}

test("withFileLock runs concurrent callers of one process one at a time", async () => {
  await withTempDir(async (dir) => {
    const counter = join(dir, "counter");
    await writeFile(counter, "0");
    await Promise.all(Array.from({ length: 20 }, () => withFileLock(join(dir, "lock"), () => slowIncrement(counter))));
    assert.is(await readFile(counter, "utf8"), "20");
    assert.equal(notMine(await readdir(dir)), ["counter"], "no lock file is left behind");
    assert.is((await readdir(dir)).filter(mine).length, 1, "one owner file served all twenty");
  });
});

test("a release hands the lock to the next caller of the same process without taking the file again", async () => {
  await withTempDir(async (dir) => {
    const lockPath = join(dir, "lock");
    const first = await acquireFileLock(lockPath);
    const held = await lstat(lockPath);
    const second = acquireFileLock(lockPath);
    await releaseFileLock(first);
    const handle = await second;
    const still = await lstat(lockPath);
    assert.is(still.ino, held.ino, "the same lock file, never removed in between");
    assert.is(handle.ownerPath, first.ownerPath);
    await releaseFileLock(first); // a second release of the first handle must not release the second
    assert.ok((await readdir(dir)).includes("lock"), "still held by the second caller");
    await releaseFileLock(handle);
    assert.equal(notMine(await readdir(dir)), [], "released for good");
  });
});

test("a caller of the same process that may not wait fails at once with IN_USE", async () => {
  await withTempDir(async (dir) => {
    const lockPath = join(dir, "lock");
    await withFileLock(lockPath, async () => {
      await assertRejects(acquireFileLock(lockPath, { timeoutMs: 0 }), (error: unknown) => isTsbuildError(error, "IN_USE") && new RegExp(`held by process ${process.pid}`).test((error as Error).message));
    });
    const again = await acquireFileLock(lockPath, { timeoutMs: 0 });
    await releaseFileLock(again);
  });
});

test("withFileLock excludes other processes whose callers also queue among themselves", async () => {
  await withTempDir(async (dir) => {
    const counter = join(dir, "counter");
    await writeFile(counter, "0");
    const script = `
      import { withFileLock } from ${JSON.stringify(lockModule)};
      import { readFile, writeFile } from "node:fs/promises";
      await Promise.all(Array.from({ length: 5 }, async () => {
        for (let i = 0; i < 4; i++) {
          await withFileLock(${JSON.stringify(join(dir, "lock"))}, async () => {
            const value = Number(await readFile(${JSON.stringify(counter)}, "utf8"));
            await new Promise((r) => setTimeout(r, 1));
            await writeFile(${JSON.stringify(counter)}, String(value + 1));
          });
        }
      }));`;
    await Promise.all(Array.from({ length: 3 }, () => runScript(script)));
    assert.is(await readFile(counter, "utf8"), "60");
    assert.equal(await readdir(dir), ["counter"], "no lock or owner file is left behind");
  });
});

test("withFileLock excludes other processes", async () => {
  await withTempDir(async (dir) => {
    const counter = join(dir, "counter");
    await writeFile(counter, "0");
    const script = `
      import { withFileLock } from ${JSON.stringify(lockModule)};
      import { readFile, writeFile } from "node:fs/promises";
      for (let i = 0; i < 15; i++) {
        await withFileLock(${JSON.stringify(join(dir, "lock"))}, async () => {
          const value = Number(await readFile(${JSON.stringify(counter)}, "utf8"));
          await new Promise((r) => setTimeout(r, 1));
          await writeFile(${JSON.stringify(counter)}, String(value + 1));
        });
      }`;
    await Promise.all(Array.from({ length: 4 }, () => runScript(script)));
    assert.is(await readFile(counter, "utf8"), "60");
  });
});

test("a lock held by a process killed with SIGKILL is taken over", async () => {
  await withTempDir(async (dir) => {
    const lockPath = join(dir, "lock");
    const holder = startScript(`
      import { acquireFileLock } from ${JSON.stringify(lockModule)};
      await acquireFileLock(${JSON.stringify(lockPath)});
      console.log("held");
      setInterval(() => {}, 1000);`);
    try {
      await waitForOutput(holder, "held");
      const owner = await readFileLockOwner(lockPath);
      assert.is(owner?.pid, holder.child.pid);
      assert.is(owner?.alive, true);
      await assertRejects(
        acquireFileLock(lockPath, { timeoutMs: 50 }),
        (error: unknown) => isTsbuildError(error, "IN_USE") && /held by process \d+/.test((error as Error).message),
      );
    } finally {
      await killChild(holder);
    }
    const handle = await acquireFileLock(lockPath, { timeoutMs: 5_000 });
    assert.is((await readFileLockOwner(lockPath))?.pid, process.pid);
    await releaseFileLock(handle);
    assert.is(await readFileLockOwner(lockPath), undefined);
  });
});

test("a stale lock is taken over by exactly one of several waiting processes at a time", async () => {
  await withTempDir(async (dir) => {
    const lockPath = join(dir, "lock");
    const dead = spawnSync("true").pid!;
    // A lock file as a dead process leaves it: an owner file hard-linked to the lock path.
    const owner = `${lockPath}.owner-${dead}-1-abcdef`;
    await writeFile(owner, JSON.stringify({ pid: dead, startTime: 1, token: `${dead}-1-abcdef`, acquiredAt: "" }));
    await link(owner, lockPath);
    const counter = join(dir, "counter");
    await writeFile(counter, "0");
    const script = `
      import { withFileLock } from ${JSON.stringify(lockModule)};
      import { readFile, writeFile } from "node:fs/promises";
      await withFileLock(${JSON.stringify(lockPath)}, async () => {
        const value = Number(await readFile(${JSON.stringify(counter)}, "utf8"));
        await new Promise((r) => setTimeout(r, 5));
        await writeFile(${JSON.stringify(counter)}, String(value + 1));
      }, { timeoutMs: 60_000 });`;
    await Promise.all(Array.from({ length: 5 }, () => runScript(script)));
    assert.is(await readFile(counter, "utf8"), "5");
    assert.equal(await readdir(dir), ["counter"]);
  });
});

test("a takeover whose claimant died half way is finished by the next waiter", async () => {
  await withTempDir(async (dir) => {
    const lockPath = join(dir, "lock");
    const deadOwner = spawnSync("true").pid!;
    const deadBreaker = spawnSync("true").pid!;
    const token = `${deadOwner}-1-abcdef`;
    // The state a breaker killed between its claim (rename) and removing the lock leaves.
    const claim = `${lockPath}.owner-${token}.break-${deadBreaker}-1-fedcba`;
    await writeFile(claim, JSON.stringify({ pid: deadOwner, startTime: 1, token, acquiredAt: "" }));
    await link(claim, lockPath);
    await withFileLock(lockPath, async () => {
      assert.is((await readFileLockOwner(lockPath))?.pid, process.pid);
    }, { timeoutMs: 60_000 });
    assert.equal(notMine(await readdir(dir)), []);
  });
});

test("a lock whose recorded start time differs from the live process's is stale (pid reuse)", async () => {
  await withTempDir(async (dir) => {
    const lockPath = join(dir, "lock");
    const start = readProcessStartTime(process.pid)!;
    const token = `${process.pid}-${start + 1}-000000`;
    const owner = `${lockPath}.owner-${token}`;
    await writeFile(owner, JSON.stringify({ pid: process.pid, startTime: start + 1, token, acquiredAt: "" }));
    await link(owner, lockPath);
    assert.is((await readFileLockOwner(lockPath))?.alive, false);
    await withFileLock(lockPath, async () => undefined, { timeoutMs: 60_000 });
    assert.equal(notMine(await readdir(dir)), []);
  });
});

test("a process keeps one owner file across acquisitions, removes it at exit, and keeps it with a lock held at exit", async () => {
  await withTempDir(async (dir) => {
    const lockPath = join(dir, "lock");
    const script = (exitHolding: boolean) => `
      import { acquireFileLock, releaseFileLock } from ${JSON.stringify(lockModule)};
      import { readdirSync } from "node:fs";
      const owners = new Set();
      for (let i = 0; i < 3; i++) {
        const handle = await acquireFileLock(${JSON.stringify(lockPath)});
        owners.add(handle.ownerPath);
        await releaseFileLock(handle);
      }
      console.log(\`\${owners.size} \${readdirSync(${JSON.stringify(dir)}).length}\`); // one string: numbers would be coloured under FORCE_COLOR
      if (${exitHolding}) {
        await acquireFileLock(${JSON.stringify(lockPath)});
        process.exit(0);
      }`;
    assert.is((await runScript(script(false))).trim(), "1 1", "one owner file, and no lock file, between acquisitions");
    assert.equal(await readdir(dir), [], "the owner file went at exit");
    await runScript(script(true));
    assert.is((await readdir(dir)).length, 2, "a lock held at exit keeps its owner file, as a killed holder's");
    const owner = await readFileLockOwner(lockPath);
    assert.is(owner?.alive, false);
    await withFileLock(lockPath, async () => undefined, { timeoutMs: 60_000 });
    assert.equal(notMine(await readdir(dir)), [], "the stale lock was taken over and its files removed");
  });
});

test("cleanLockLeftovers removes owner and claim files of dead processes only", async () => {
  await withTempDir(async (dir) => {
    const dead = spawnSync("true").pid!;
    const me = `${process.pid}-${readProcessStartTime(process.pid)}`;
    await writeFile(join(dir, `lock.owner-${dead}-7-aaaaaa`), "{}");
    await writeFile(join(dir, `lock.owner-${me}-bbbbbb.break-${dead}-7-cccccc`), "{}");
    await writeFile(join(dir, `other.owner-${me}-dddddd`), "{}");
    const held = await acquireFileLock(join(dir, "held"));
    try {
      assert.is(await cleanLockLeftovers(dir), 2);
      const left = (await readdir(dir)).sort();
      assert.equal(left, ["held", held.ownerPath.slice(dir.length + 1), `other.owner-${me}-dddddd`].sort());
    } finally {
      await releaseFileLock(held);
    }
  });
});

test("an aborted wait ends with CANCELLED and leaves no owner file", async () => {
  await withTempDir(async (dir) => {
    const lockPath = join(dir, "lock");
    await withFileLock(lockPath, async () => {
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 20);
      await assertRejects(acquireFileLock(lockPath, { signal: controller.signal }), (error: unknown) =>
        isTsbuildError(error, "CANCELLED"),
      );
      assert.is((await readdir(dir)).length, 2, "only the held lock and its owner file remain");
    });
  });
});

test.run();
