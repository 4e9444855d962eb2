import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { builtRoot } from "../helpers/repo-root.js";
import { startRegistry } from "../registry/registry-fixture.js";
import { makeImage, withTempDir, workerAt } from "../registry/registry-test-helpers.js";

const main = join(builtRoot(), "cli", "main.js");

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI without blocking this process (the registry fixtures live in it). */
async function tsbuild(args: string[], options: { input?: string; env?: Record<string, string> } = {}): Promise<Run> {
  const child = spawn(process.execPath, [main, ...args], { env: { ...process.env, TSBUILD_SNAPSHOTTER: "native", ...options.env }, stdio: ["pipe", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  child.stdin.end(options.input ?? "");
  const status = await new Promise<number | null>((resolve) => child.on("close", resolve));
  return { status, stdout, stderr };
}

test("pull, push, login and logout have generated help", async () => {
  for (const command of ["pull", "push", "login", "logout"]) {
    const result = await tsbuild([command, "--help"]);
    assert.is(result.status, 0, command);
    assert.match(result.stdout, new RegExp(`^Usage: tsbuild ${command}`));
  }
  assert.match((await tsbuild(["pull", "--help"])).stdout, /--insecure-registry HOST/);
});

test("login --password-stdin, push, pull into a fresh root and logout, with docker's config.json in DOCKER_CONFIG", async () => {
  await withTempDir(async (dir) => {
    const password = "cli-Secret-123";
    const registry = await startRegistry(dir, { htpasswd: { username: "dev", password } });
    try {
      const env = { DOCKER_CONFIG: join(dir, "docker") };
      const name = `${registry.domain}/cli/app:1`;
      const worker = await workerAt(dir, "a");
      const image = await makeImage(worker, name, [{ a: "a" }]);

      const anonymous = await tsbuild(["push", name, "--root", worker.root], { env });
      assert.is(anonymous.status, 1);
      assert.match(anonymous.stderr, /^error: Cannot check blob "sha256:[0-9a-f]{64}" in "cli\/app": registry "127\.0\.0\.1:\d+" requires authentication/);
      assert.match(anonymous.stderr, new RegExp(`\\nhint: Log in first: tsbuild login ${registry.domain.replace(/\./g, "\\.")}\\n$`));

      const wrong = await tsbuild(["login", "-u", "dev", "--password-stdin", registry.domain], { input: "not-it\n", env });
      assert.is(wrong.status, 1);
      assert.not.match(wrong.stdout + wrong.stderr, /not-it/);
      const ok = await tsbuild(["login", "-u", "dev", "--password-stdin", registry.domain], { input: `${password}\n`, env });
      assert.is(ok.stderr, "");
      assert.is(ok.stdout, "Login Succeeded\n");
      assert.match(await readFile(join(dir, "docker", "config.json"), "utf8"), new RegExp(Buffer.from(`dev:${password}`).toString("base64")));

      const pushed = await tsbuild(["push", name, "--root", worker.root], { env });
      assert.is(pushed.stderr, "");
      assert.is(pushed.status, 0);
      assert.match(pushed.stdout, new RegExp(`^The push refers to repository \\[${registry.domain.replace(/\./g, "\\.")}/cli/app\\]\\n[0-9a-f]{12}: Pushed\\n1: digest: ${image.manifest} size: \\d+\\n$`));

      const root = join(dir, "b");
      const pulled = await tsbuild(["pull", name, "--root", root], { env });
      assert.is(pulled.stderr, "");
      assert.is(
        pulled.stdout,
        `1: Pulling from cli/app\n${image.layers[0].slice(7, 19)}: Pull complete\nDigest: ${image.manifest}\nStatus: Downloaded newer image for ${name}\n${name}\n`,
      );
      const again = await tsbuild(["pull", "-q", name, "--root", root], { env });
      assert.is(again.stdout, `${name}\n`);
      assert.match((await tsbuild(["images", "--root", root])).stdout, /cli\/app +1 /);

      assert.is((await tsbuild(["logout", registry.domain], { env })).stdout, `Removing login credentials for ${registry.domain}\n`);
      assert.is((await tsbuild(["logout", registry.domain], { env })).stdout, `Not logged in to ${registry.domain}\n`);
      const missing = await tsbuild(["pull", `${registry.domain}/cli/app:2`, "--root", root], { env });
      assert.is(missing.status, 1);
      // A private repository and a missing one look the same from outside: docker's "pull access denied".
      assert.match(missing.stderr, /repository not found on registry "127\.0\.0\.1:\d+", or access denied \(HTTP 401\)/);
      assert.match(missing.stderr, /hint: Check the image name for a typo; if it is private, log in: tsbuild login 127\.0\.0\.1:\d+\n$/);
    } finally {
      await registry.stop();
    }
  });
});

test.run();
