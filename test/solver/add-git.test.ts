import { execFileSync } from "node:child_process";
import { createReadStream } from "node:fs";
import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join, normalize } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { build } from "../../build/build.js";
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
    const server = createServer((request, response) => {
      const path = normalize(join(bare, decodeURIComponent((request.url ?? "/").replace(/^\/repo\.git/, "").split("?")[0])));
      if (!path.startsWith(bare)) return void response.writeHead(403).end();
      stat(path).then(
        (info) => (info.isFile() ? createReadStream(path).pipe(response.writeHead(200)) : response.writeHead(404).end()),
        () => response.writeHead(404).end(),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const remote = `http://127.0.0.1:${(server.address() as AddressInfo).port}/repo.git`;
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
      server.close();
    }
  });
});

test.run();
