import { execFileSync } from "node:child_process";
import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { build } from "../../build/build.js";
import { serveFiles } from "../helpers/serve-files.js";
import { withBuildRoot } from "./build-fixture.js";

const GIT = ["-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "init.defaultBranch=main"];

function git(cwd: string, ...args: string[]): string {
  return execFileSync("git", [...GIT, ...args], { cwd, encoding: "utf8" });
}

test("ADD of a git repository checks out the ref, takes the subdir, drops .git, and rebuilds only when the files change", async () => {
  await withBuildRoot(async (root) => {
    // A repository served over git's "dumb" HTTP protocol: static files from a loopback server.
    const work = join(root.dir, "work");
    await mkdir(join(work, "sub"), { recursive: true });
    git(root.dir, "init", "-q", work);
    await writeFile(join(work, "sub/hello.txt"), "hello from git\n");
    await writeFile(join(work, "top.txt"), "top\n");
    git(work, "add", ".");
    git(work, "commit", "-q", "-m", "first");
    git(work, "tag", "v1");
    const bare = join(root.dir, "repo.git");
    git(root.dir, "clone", "-q", "--bare", work, bare);
    git(bare, "update-server-info");
    const server = await serveFiles(bare, { prefix: "/repo.git" });
    try {
      const remote = `${server.url}/repo.git`;
      const context = join(root.dir, "ctx");
      await mkdir(context);
      await writeFile(join(context, "Dockerfile"), `FROM busybox\nADD ${remote}#v1:sub /src\n`);
      const out = join(root.dir, "out");
      await build({ context, worker: root.worker, output: { type: "local", dest: out } });
      assert.is(await readFile(join(out, "src/hello.txt"), "utf8"), "hello from git\n");
      assert.not.ok(await stat(join(out, "src/.git")).catch(() => undefined), "no .git");
      assert.not.ok(await stat(join(out, "src/top.txt")).catch(() => undefined), "only the subdir");

      const again = await build({ context, worker: root.worker });
      assert.ok(again.steps.every((step) => step.status === "cached"), "a fresh clone of the same files is cached");
    } finally {
      await server.close();
    }
  });
});

test.run();
