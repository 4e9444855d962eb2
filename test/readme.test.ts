import { spawn } from "node:child_process";
import { chmod, mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { MAIN, removeContainerRoot } from "./container/container-fixture.js";
import { repoRoot } from "./helpers/repo-root.js";
import { startRegistry } from "./registry/registry-fixture.js";

/** The README's fenced blocks whose info string starts with `sh`, in order, with their line. */
export function shellBlocks(markdown: string): Array<{ line: number; info: string; code: string }> {
  const blocks: Array<{ line: number; info: string; code: string }> = [];
  const lines = markdown.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(sh\b.*)$/.exec(lines[i]);
    if (open === null) continue;
    const start = i + 1;
    while (i + 1 < lines.length && lines[i + 1] !== "```") i++;
    blocks.push({ line: start, info: open[1].trim(), code: lines.slice(start, i + 1).join("\n") });
    i++;
  }
  return blocks;
}

function bash(code: string, options: { cwd: string; env: NodeJS.ProcessEnv }): Promise<{ status: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", ["-euo", "pipefail", "-c", code], { cwd: options.cwd, env: options.env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
    child.on("error", reject);
    child.on("close", (status) => resolve({ status, output }));
  });
}

test("every sh block of the README that needs no network runs, in order, in an empty directory with a fresh store", async () => {
  const blocks = shellBlocks(await readFile(join(repoRoot(), "README.md"), "utf8"));
  const runnable = blocks.filter((block) => !/\bnetwork\b/.test(block.info));
  assert.ok(runnable.length >= 8, "the README shows what it says");
  const dir = await mkdtemp(join(tmpdir(), "tsbuild-readme-"));
  const root = join(dir, "root");
  const registry = await startRegistry(dir);
  try {
    const work = join(dir, "work");
    await mkdir(join(dir, "bin"), { recursive: true });
    await mkdir(work);
    await writeFile(join(dir, "bin", "tsbuild"), `#!/bin/sh\nexec "${process.execPath}" "${MAIN}" "$@"\n`);
    await chmod(join(dir, "bin", "tsbuild"), 0o755);
    // Nothing of this machine's configuration: its own store, logins and registries.conf.
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PATH: `${join(dir, "bin")}:${process.env.PATH ?? ""}`,
      TSBUILD_ROOT: root,
      HOME: join(dir, "home"),
      DOCKER_CONFIG: join(dir, "docker"),
      CONTAINERS_REGISTRIES_CONF: join(dir, "no-registries.conf"),
      REGISTRY: registry.domain,
      SOURCE_DATE_EPOCH: "",
    };
    for (const block of runnable) {
      const result = await bash(block.code, { cwd: work, env });
      assert.is(result.status, 0, `README.md:${block.line}: the block exited ${result.status}:\n${result.output}`);
      assert.not.match(result.output, /internal error/, `README.md:${block.line}`);
    }
  } finally {
    await registry.stop();
    await removeContainerRoot(dir, root);
  }
});

test("the README's blocks are found with their info strings", () => {
  const blocks = shellBlocks("text\n```sh\necho a\n```\n```sh network\ncurl x\n```\n```ts\nx\n```\n");
  assert.equal(blocks, [
    { line: 2, info: "sh", code: "echo a" },
    { line: 5, info: "sh network", code: "curl x" },
  ]);
});

test.run();
