import { spawn } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { MAIN, tsbuild, withContainerRoot } from "../container/container-fixture.js";

/** Strips colours and cursor moves, and keeps each frame's header line. */
function headers(stderr: string): string[] {
  return [...stderr.replace(/\x1b\[[0-9;]*m/g, "").matchAll(/\[\+\] Building \d+\.\ds \((\d+)\/(\d+)\)( FINISHED)?/g)].map((m) => `${m[1]}/${m[2]}${m[3] ?? ""}`);
}

async function context(dir: string, name: string, dockerfile: string): Promise<string> {
  const path = join(dir, name);
  await mkdir(path, { recursive: true });
  await writeFile(join(path, "Dockerfile"), dockerfile);
  return path;
}

test("the tty view's step total is fixed from the first frame, and a finished build reads N/N FINISHED", async () => {
  await withContainerRoot(async (root, dir) => {
    const ctx = await context(dir, "multi", "FROM bb:1 AS a\nRUN echo a > /a\nFROM bb:1\nCOPY --from=a /a /a\nRUN cat /a\nWORKDIR /w\n");
    const first = tsbuild(root, ["build", "--progress", "tty", ctx]);
    assert.is(first.status, 0, first.stderr);
    const frames = headers(first.stderr);
    assert.ok(frames.length > 0, first.stderr);
    assert.equal([...new Set(frames.map((h) => h.split("/")[1].replace(" FINISHED", "")))], ["5"], "one total in every frame that has a count");
    assert.is(frames.at(-1), "5/5 FINISHED");
    // Cached: the steps below the cached ones are not looked at, yet the build is whole.
    const again = tsbuild(root, ["build", "--progress", "tty", ctx]);
    assert.is(headers(again.stderr).at(-1), "5/5 FINISHED");
    assert.match(again.stderr.replace(/\x1b\[[0-9;]*m/g, ""), / => CACHED \[stage-1 3\/4\] RUN cat \/a +0\.0s\n/);
  });
});

test("a failed step is marked ERROR on its line, with its log tail and Dockerfile line below", async () => {
  await withContainerRoot(async (root, dir) => {
    const ctx = await context(dir, "fail", "FROM bb:1\nRUN echo oops; exit 3\n");
    const result = tsbuild(root, ["build", "--progress", "tty", ctx]);
    assert.is(result.status, 1);
    const text = result.stderr.replace(/\x1b\[[0-9;]*m/g, "");
    assert.match(text, / => ERROR \[2\/2\] RUN echo oops; exit 3 +\d+\.\ds\n/);
    assert.match(text, /------\n > \[2\/2\] RUN echo oops; exit 3:\noops\n------\n/);
    assert.match(text, /> 2 \| RUN echo oops; exit 3\n/);
    assert.is(headers(text).at(-1), "2/2", "not FINISHED");
  });
});

test("Ctrl-C during a step reads CANCELED and 'Build cancelled', exit 130, no failure report", async () => {
  await withContainerRoot(async (root, dir) => {
    const ctx = await context(dir, "slow", "FROM bb:1\nRUN echo started; sleep 120\n");
    const child = spawn(process.execPath, [MAIN, "build", "--root", root, "--progress", "plain", ctx], { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    const started = new Promise<void>((resolve) => {
      child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
        stderr += chunk;
        if (stderr.includes("#2 started\n")) resolve();
      });
    });
    const closed = new Promise<number | null>((resolve) => child.once("close", resolve));
    try {
      await started;
      child.kill("SIGINT");
      assert.is(await closed, 130, stderr);
    } finally {
      child.kill("SIGKILL");
    }
    assert.match(stderr, /\n#2 CANCELED\nerror: Build cancelled\n$/);
    assert.not.match(stderr, /Dockerfile:2|failed/);
  });
});

test.run();
