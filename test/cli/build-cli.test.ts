import { execFileSync, spawn } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { builtRoot } from "../helpers/repo-root.js";
import { mountsUnder, withBuildRoot } from "../solver/build-fixture.js";

const main = join(builtRoot(), "cli", "main.js");

/** Runs the CLI as a user would, in `cwd`. Asynchronous, so the test process stays responsive. */
function tsbuild(args: string[], cwd: string, input?: Buffer | string): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [main, ...args], { cwd, env: { ...process.env, SOURCE_DATE_EPOCH: "" } });
    child.stdin.end(input ?? "");
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
    child.on("error", reject);
    child.on("close", (status) => resolve({ status, stdout, stderr }));
  });
}

test("tsbuild -t NAME . builds, then reports every step CACHED on a rebuild", async () => {
  await withBuildRoot(async (root) => {
    const context = await root.fixture("multi-stage");
    const store = join(root.dir, "root");
    const iidfile = join(root.dir, "iid");
    const first = await tsbuild(["--root", store, "-t", "app:1", "--iidfile", iidfile, "."], context);
    assert.is(first.status, 0, first.stderr);
    assert.match(first.stderr, /#\d+ \[stage-2 5\/5\] RUN echo "home is \/srv\/app"/);
    assert.match(first.stderr, /#\d+ DONE \d+\.\ds/);
    assert.match(first.stderr, "naming to docker.io/library/app:1 done");
    const imageId = await readFile(iidfile, "utf8");
    assert.match(imageId, /^sha256:[0-9a-f]{64}$/);

    const metadataFile = join(root.dir, "metadata.json");
    const second = await tsbuild(["build", "--root", store, "-t", "app:1", "-q", "--metadata-file", metadataFile, "."], context);
    assert.is(second.status, 0, second.stderr);
    assert.is(second.stdout, `${imageId}\n`);
    const metadata = JSON.parse(await readFile(metadataFile, "utf8")) as Record<string, string> & { "containerimage.descriptor": { digest: string; size: number } };
    assert.is(metadata["containerimage.descriptor"].digest, metadata["containerimage.digest"]);
    assert.ok(metadata["containerimage.descriptor"].size > 0);
    assert.is(metadata["containerimage.config.digest"], imageId);
    assert.match(metadata["containerimage.digest"], /^sha256:[0-9a-f]{64}$/);
    assert.is(metadata["image.name"], "docker.io/library/app:1");
    const again = await tsbuild(["--root", store, "-t", "app:1", "."], context);
    const steps = again.stderr.split("\n").filter((line) => /^#\d+ \[/.test(line)).length;
    const cached = again.stderr.split("\n").filter((line) => /^#\d+ CACHED$/.test(line)).length;
    assert.is(cached, steps, again.stderr);
    assert.ok(cached >= 6);
  });
});

test("a failing RUN prints the step, its Dockerfile line, the exit status and the log tail, and exits 1", async () => {
  await withBuildRoot(async (root) => {
    const context = join(root.dir, "failing");
    await mkdir(context);
    await writeFile(join(context, "Dockerfile"), "FROM busybox\nRUN echo first\nRUN echo the disk is on fire >&2; exit 4\n");
    const result = await tsbuild(["--root", join(root.dir, "root"), "-t", "bad:1", "."], context);
    assert.is(result.status, 1);
    assert.match(result.stderr, " > [3/3] RUN echo the disk is on fire >&2; exit 4:");
    assert.match(result.stderr, "the disk is on fire");
    assert.match(result.stderr, "Dockerfile:3");
    assert.match(result.stderr, "> 3 | RUN echo the disk is on fire");
    assert.match(result.stderr, "exit status: 4");
    assert.match(result.stderr, /error: Step \[3\/3\] RUN .* failed/);
    assert.equal(await mountsUnder(root.dir), []);
  });
});

test("--build-context names a directory for COPY --from, -o type=docker writes an archive, --no-cache-filter reruns one stage", async () => {
  await withBuildRoot(async (root) => {
    const context = join(root.dir, "ctx");
    const extra = join(root.dir, "extra");
    await mkdir(context);
    await mkdir(extra);
    await writeFile(join(extra, "hello.txt"), "from the named context\n");
    await writeFile(join(context, "Dockerfile"), "FROM busybox AS base\nRUN echo base > /base.txt\n\nFROM base\nCOPY --from=extra hello.txt /\n");
    const store = join(root.dir, "root");
    const archive = join(root.dir, "image.tar");
    const first = await tsbuild(["--root", store, "--build-context", `extra=${extra}`, "-t", "named:1", "-o", `type=docker,dest=${archive}`, "."], context);
    assert.is(first.status, 0, first.stderr);
    const manifest = JSON.parse(execFileSync("tar", ["-xOf", archive, "manifest.json"], { encoding: "utf8" })) as Array<{ RepoTags: string[] }>;
    assert.equal(manifest[0].RepoTags, ["named:1"]);

    const again = await tsbuild(["--root", store, "--build-context", `extra=${extra}`, "--no-cache-filter", "base", "."], context);
    assert.is(again.status, 0, again.stderr);
    assert.match(again.stderr, /#\d+ \[base 2\/2\] RUN echo base > \/base.txt\n#\d+ cache miss: --no-cache/);
    assert.match(again.stderr, /COPY --from=extra hello.txt \/\n#\d+ CACHED/);
  });
});

test("tsbuild - reads the context as a tar, or a lone Dockerfile, from standard input", async () => {
  await withBuildRoot(async (root) => {
    const context = await root.fixture("multi-stage");
    const store = join(root.dir, "root");
    const tar = execFileSync("tar", ["-C", context, "-c", "."]);
    const fromTar = await tsbuild(["--root", store, "-t", "piped:1", "-q", "-"], root.dir, tar);
    assert.is(fromTar.status, 0, fromTar.stderr);
    assert.match(fromTar.stdout, /^sha256:[0-9a-f]{64}\n$/);
    const fromDir = await tsbuild(["--root", store, "-q", "."], context);
    assert.is(fromDir.stdout, fromTar.stdout, "the same context gives the same image, cached");

    const lone = await tsbuild(["--root", store, "-t", "lone:1", "-"], root.dir, "FROM busybox\nRUN echo alone > /alone.txt\n");
    assert.is(lone.status, 0, lone.stderr);
    assert.match(lone.stderr, "naming to docker.io/library/lone:1 done");
  });
});

test("--progress json writes one event a line; --progress tty draws the live view", async () => {
  await withBuildRoot(async (root) => {
    const context = await root.fixture("multi-stage");
    const store = join(root.dir, "root");
    const json = await tsbuild(["--root", store, "--progress", "json", "."], context);
    assert.is(json.status, 0, json.stderr);
    const events = json.stderr.trim().split("\n").map((line) => JSON.parse(line) as { type: string; name?: string; data?: string });
    assert.ok(events.some((event) => event.type === "vertex-started" && event.name?.includes("RUN tr a-z A-Z")));
    assert.ok(events.some((event) => event.type === "vertex-completed"));
    const tty = await tsbuild(["--root", store, "--progress", "tty", "."], context);
    assert.is(tty.status, 0, tty.stderr);
    assert.match(tty.stderr, /\[\+\] Building \d+\.\ds \(\d+\/\d+\)/);
    assert.match(tty.stderr, /=> CACHED \[stage-2 5\/5\] RUN echo "home is \/srv\/app".* 0\.0s/, tty.stderr);
  });
});

test("Ctrl-C stops a running build: exit status 130, nothing left mounted", async () => {
  await withBuildRoot(async (root) => {
    const context = join(root.dir, "slow");
    await mkdir(context);
    await writeFile(join(context, "Dockerfile"), "FROM busybox\nRUN echo started && sleep 600\n");
    const child = spawn(process.execPath, [main, "--root", join(root.dir, "root"), "--progress", "plain", "."], { cwd: context });
    child.stdin.end();
    let stderr = "";
    let interrupted = false;
    const started = Date.now();
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8");
      // Once: a second Ctrl-C is the user's "kill it now".
      if (!interrupted && stderr.includes("started\n")) interrupted = child.kill("SIGINT");
    });
    const status = await new Promise<number | null>((resolve) => child.on("close", resolve));
    assert.is(status, 130, stderr);
    assert.ok(Date.now() - started < 300_000, "the sleep did not run to its end");
    assert.equal(await mountsUnder(root.dir), []);
  });
});

test("a bad --secret or a --platform that is no platform is a usage error; a base image that cannot be pulled says why", async () => {
  await withBuildRoot(async (root) => {
    const context = await root.fixture("multi-stage");
    const result = await tsbuild(["--root", join(root.dir, "root"), "--secret", "src=/x", "."], context);
    assert.is(result.status, 125);
    assert.match(result.stderr, 'Cannot parse flag "--secret"');
    // Other platforms build (under emulation: test/build/multi-platform.test.ts); text that is no platform does not.
    const platform = await tsbuild(["--root", join(root.dir, "root"), "--platform", "linux/amd64,linux/", "."], context);
    assert.is(platform.status, 125);
    assert.match(platform.stderr, 'Cannot parse flag "--platform": "linux/" is not a platform');
    const missing = join(root.dir, "missing-base");
    await mkdir(missing);
    // Not in the store, so it is pulled; nothing listens on port 1.
    await writeFile(join(missing, "Dockerfile"), "FROM localhost:1/nothing:1\nRUN true\n");
    const noBase = await tsbuild(["--root", join(root.dir, "root"), "."], missing);
    assert.is(noBase.status, 1);
    assert.match(noBase.stderr, 'registry "localhost:1" is unreachable');
  });
});

test("--pids-limit caps the processes of every RUN; a bad --memory is a usage error", async () => {
  await withBuildRoot(async (root) => {
    const context = join(root.dir, "limits");
    await mkdir(context);
    // Twenty sleepers at once need more than ten pids; without the limit the same step passes.
    await writeFile(join(context, "Dockerfile"), "FROM busybox\nRUN for i in $(seq 20); do sleep 2 & done; wait\n");
    const store = join(root.dir, "root");
    const limited = await tsbuild(["--root", store, "--pids-limit", "10", "."], context);
    assert.is(limited.status, 1, limited.stderr);
    assert.match(limited.stderr, /can't fork|Resource temporarily unavailable|exit (code|status)/i);
    const free = await tsbuild(["--root", store, "."], context);
    assert.is(free.status, 0, free.stderr);
    const bad = await tsbuild(["--root", store, "--memory", "lots", "."], context);
    assert.is(bad.status, 125);
    assert.match(bad.stderr, 'Cannot use --memory "lots"');
  });
});

test.run();
