import { createHash } from "node:crypto";
import { createServer, type Server } from "node:http";
import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { isTsbuildError } from "../../errors.js";
import { build } from "../../build/build.js";
import { withBuildRoot } from "./build-fixture.js";

/** A loopback server with a mutable set of files; resolves to it and its base URL. */
async function serve(files: Map<string, string>): Promise<{ server: Server; base: string }> {
  const server = createServer((request, response) => {
    const body = files.get(request.url ?? "");
    if (body === undefined) {
      response.writeHead(404).end("no");
      return;
    }
    response.writeHead(200, { "last-modified": "Wed, 01 Jan 2020 00:00:00 GMT" }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

test("ADD of a URL downloads it (checksum checked), and rebuilds only when its content changes", async () => {
  const files = new Map([["/file.txt", "downloaded\n"]]);
  const { server, base } = await serve(files);
  try {
    await withBuildRoot(async (root) => {
      const context = join(root.dir, "ctx");
      await mkdir(context);
      const checksum = `sha256:${createHash("sha256").update("downloaded\n").digest("hex")}`;
      await writeFile(join(context, "Dockerfile"), `FROM busybox\nADD ${base}/file.txt /plain.txt\n`);
      await writeFile(join(context, "checked.Dockerfile"), `FROM busybox\nADD --checksum=${checksum} ${base}/file.txt /downloads/\n`);
      const out = join(root.dir, "out");
      await build({ context, worker: root.worker, output: { type: "local", dest: out } });
      assert.is(await readFile(join(out, "plain.txt"), "utf8"), "downloaded\n");
      assert.is((await stat(join(out, "plain.txt"))).mode & 0o777, 0o600, "a downloaded file is 0600, as BuildKit makes it");
      assert.is((await stat(join(out, "plain.txt"))).mtime.toISOString(), "2020-01-01T00:00:00.000Z");
      const checked = join(root.dir, "checked");
      await build({ context, dockerfile: join(context, "checked.Dockerfile"), worker: root.worker, output: { type: "local", dest: checked } });
      assert.is(await readFile(join(checked, "downloads/file.txt"), "utf8"), "downloaded\n");

      const cached = await build({ context, worker: root.worker });
      assert.ok(cached.steps.every((step) => step.status === "cached"));

      files.set("/file.txt", "changed upstream\n");
      const error = await build({ context, dockerfile: join(context, "checked.Dockerfile"), worker: root.worker }).catch((e: unknown) => e);
      assert.ok(isTsbuildError(error, "DIGEST_MISMATCH"), String(error));
      const rebuilt = await build({ context, worker: root.worker });
      const ran = rebuilt.steps.filter((step) => step.status === "done" && step.name.includes("ADD"));
      assert.equal(ran.map((step) => step.missReason?.message), ['file "file.txt" changed']);
    });
  } finally {
    server.close();
  }
});

test("ADD of a URL that answers 404 fails with the status", async () => {
  const { server, base } = await serve(new Map());
  try {
    await withBuildRoot(async (root) => {
      const context = join(root.dir, "ctx");
      await mkdir(context);
      await writeFile(join(context, "Dockerfile"), `FROM busybox\nADD ${base}/missing.txt /\n`);
      const error = await build({ context, worker: root.worker }).catch((e: unknown) => e);
      assert.match(String(error), "HTTP 404");
    });
  } finally {
    server.close();
  }
});

test.run();
