import { execFileSync, spawn } from "node:child_process";
import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { build } from "../../build/build.js";
import { withBuildRoot } from "../solver/build-fixture.js";

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

test("a cached ADD of a URL revalidates with its ETag and downloads nothing", async () => {
  let body = "version 1\n";
  const requests: string[] = [];
  const server = createServer((request, response) => {
    const etag = `"${Buffer.from(body).toString("hex")}"`;
    if (request.headers["if-none-match"] === etag) {
      requests.push("304");
      response.writeHead(304, { etag }).end();
      return;
    }
    requests.push("200");
    response.writeHead(200, { etag, "last-modified": "Wed, 01 Jan 2020 00:00:00 GMT" }).end(body);
  });
  const base = await listen(server);
  try {
    await withBuildRoot(async (root) => {
      const context = join(root.dir, "ctx");
      await mkdir(context);
      await writeFile(join(context, "Dockerfile"), `FROM busybox\nADD ${base}/file.txt /file.txt\nRUN cat /file.txt > /copy.txt\n`);
      await build({ context, worker: root.worker });
      assert.equal(requests, ["200"]);

      const cached = await build({ context, worker: root.worker });
      assert.equal(requests, ["200", "304"], "one conditional request, no body");
      assert.ok(cached.steps.filter((step) => !step.name.includes("] FROM ")).every((step) => step.status === "cached"));

      body = "version 2\n";
      const out = join(root.dir, "out");
      const changed = await build({ context, worker: root.worker, output: { type: "local", dest: out } });
      assert.equal(requests, ["200", "304", "200"]);
      assert.is(await readFile(join(out, "copy.txt"), "utf8"), "version 2\n");
      const add = changed.steps.find((step) => step.name.includes("ADD"));
      assert.equal(add?.missReason?.kind === "file-changed" ? add.missReason.files : undefined, [{ path: "file.txt", change: "changed" }]);
    });
  } finally {
    server.close();
  }
});

/** git's smart HTTP protocol: each request handed to `git http-backend` as CGI. */
function gitHttpBackend(projectRoot: string, log: string[]): (request: IncomingMessage, response: ServerResponse) => void {
  return (request, response) => {
    const url = new URL(request.url ?? "/", "http://localhost");
    // Protocol v2 says in the body what a POST asks: ls-refs (what ls-remote does) or fetch.
    let head = "";
    request.on("data", (chunk: Buffer) => (head += head.length < 200 ? chunk.toString("latin1") : ""));
    request.on("end", () => log.push(`${request.method} ${url.pathname.split("/").pop()}${url.search} ${/command=(\w[\w-]*)/.exec(head)?.[1] ?? ""}`.trim()));
    const cgi = spawn("git", ["http-backend"], {
      env: {
        ...process.env,
        GIT_PROJECT_ROOT: projectRoot,
        GIT_HTTP_EXPORT_ALL: "1",
        PATH_INFO: url.pathname,
        QUERY_STRING: url.search.slice(1),
        REQUEST_METHOD: request.method ?? "GET",
        CONTENT_TYPE: request.headers["content-type"] ?? "",
        GIT_PROTOCOL: String(request.headers["git-protocol"] ?? ""),
        REMOTE_ADDR: "127.0.0.1",
      },
    });
    request.pipe(cgi.stdin);
    const chunks: Buffer[] = [];
    cgi.stdout.on("data", (chunk: Buffer) => chunks.push(chunk));
    cgi.on("close", () => {
      const output = Buffer.concat(chunks);
      const split = output.indexOf("\r\n\r\n");
      const headers: Record<string, string> = {};
      let status = 200;
      for (const line of output.subarray(0, split).toString().split("\r\n")) {
        const colon = line.indexOf(":");
        const name = line.slice(0, colon).trim();
        const value = line.slice(colon + 1).trim();
        if (name.toLowerCase() === "status") status = Number.parseInt(value, 10);
        else headers[name] = value;
      }
      response.writeHead(status, headers).end(output.subarray(split + 4));
    });
  };
}

test("a cached ADD of a git ref asks ls-remote only; a new commit is fetched alone, shallow", async () => {
  await withBuildRoot(async (root) => {
    const git = (cwd: string, ...args: string[]) => execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "init.defaultBranch=main", ...args], { cwd, encoding: "utf8" });
    const work = join(root.dir, "work");
    await mkdir(work);
    git(root.dir, "init", "-q", work);
    for (const n of [1, 2]) {
      await writeFile(join(work, "file.txt"), `commit ${n}\n`);
      git(work, "add", ".");
      git(work, "commit", "-q", "-m", `commit ${n}`);
    }
    const projects = join(root.dir, "projects");
    await mkdir(projects);
    git(projects, "clone", "-q", "--bare", work, join(projects, "repo.git"));
    const log: string[] = [];
    const server = createServer(gitHttpBackend(projects, log));
    const base = await listen(server);
    try {
      const context = join(root.dir, "ctx");
      await mkdir(context);
      await writeFile(join(context, "Dockerfile"), `FROM busybox\nADD --keep-git-dir=true ${base}/repo.git#main /src\n`);
      const out = join(root.dir, "out");
      await build({ context, worker: root.worker, output: { type: "local", dest: out } });
      assert.is(await readFile(join(out, "src/file.txt"), "utf8"), "commit 2\n");
      assert.ok(await stat(join(out, "src/.git/shallow")), "only the one commit was fetched");
      assert.is(git(join(out, "src"), "rev-list", "--count", "HEAD").trim(), "1");

      log.length = 0;
      const cached = await build({ context, worker: root.worker });
      assert.ok(cached.steps.filter((step) => !step.name.includes("] FROM ")).every((step) => step.status === "cached"));
      assert.ok(log.some((line) => line.endsWith("ls-refs")), `ls-remote asked: ${log.join(", ")}`);
      assert.not.ok(log.some((line) => line.endsWith("fetch")), `no fetch: ${log.join(", ")}`);

      await writeFile(join(work, "file.txt"), "commit 3\n");
      git(work, "commit", "-q", "-am", "commit 3");
      git(work, "push", "-q", join(projects, "repo.git"), "main");
      const out3 = join(root.dir, "out3");
      await build({ context, worker: root.worker, output: { type: "local", dest: out3 } });
      assert.is(await readFile(join(out3, "src/file.txt"), "utf8"), "commit 3\n");
    } finally {
      server.close();
    }
  });
});

test.run();
