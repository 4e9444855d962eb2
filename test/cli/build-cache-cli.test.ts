import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { startRegistry } from "../registry/registry-fixture.js";
import { withBuildRoot } from "../solver/build-fixture.js";
import { runTsbuild, type CliResult } from "./run-tsbuild.js";

/** Runs the CLI as a user would, in `cwd`, with docker's config in `dockerConfig` (none of the user's). */
function tsbuild(args: string[], cwd: string, dockerConfig: string): Promise<CliResult> {
  return runTsbuild(args, cwd, { SOURCE_DATE_EPOCH: "1700000000", DOCKER_CONFIG: dockerConfig });
}

test("build --cache-to and --push on one root; --cache-from on a fresh root runs nothing and gives the same image; pull gives the same manifest", async () => {
  const dir = await mkdtemp(join(tmpdir(), "tsb-cache-cli-"));
  try {
    const registry = await startRegistry(dir);
    try {
      const cacheRef = `${registry.domain}/cli/app:cache`;
      const name = `${registry.domain}/cli/app:1`;
      const first = await withBuildRoot(async (root) => {
        const context = await root.fixture("multi-stage");
        const metadata = join(root.dir, "metadata.json");
        const built = await tsbuild(["build", "--root", join(root.dir, "root"), "-t", name, "--push", "--cache-to", `type=registry,ref=${cacheRef},mode=max`, "--metadata-file", metadata, "."], context, dir);
        assert.is(built.status, 0, built.stderr);
        return JSON.parse(await readFile(metadata, "utf8")) as Record<string, string>;
      });
      await withBuildRoot(async (root) => {
        const context = await root.fixture("multi-stage");
        const metadata = join(root.dir, "metadata.json");
        const built = await tsbuild(["build", "--root", join(root.dir, "root"), "-t", "app:1", "--cache-from", `type=registry,ref=${cacheRef}`, "--metadata-file", metadata, "."], context, dir);
        assert.is(built.status, 0, built.stderr);
        const steps = built.stderr.split("\n").filter((line) => /^#\d+ \[/.test(line) && !/\] FROM /.test(line)).length;
        const cached = built.stderr.split("\n").filter((line) => /^#\d+ CACHED$/.test(line)).length;
        // The final stage's four steps, each CACHED; the build stage is never looked at.
        assert.is(steps, 4, built.stderr);
        assert.is(cached, steps, built.stderr);
        const second = JSON.parse(await readFile(metadata, "utf8")) as Record<string, string>;
        assert.is(second["containerimage.config.digest"], first["containerimage.config.digest"]);

        const pulled = await tsbuild(["pull", name, "--root", join(root.dir, "pulled")], root.dir, dir);
        assert.is(pulled.status, 0, pulled.stderr);
        assert.match(pulled.stdout, `Digest: ${first["containerimage.digest"]}\n`);
      });
    } finally {
      await registry.stop();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("a bad --cache-to or --cache-from spec is a usage error", async () => {
  const dir = await mkdtemp(join(tmpdir(), "tsb-cache-cli-"));
  try {
    for (const flags of [["--cache-to", "type=s3,ref=x"], ["--cache-to", "type=registry,mode=max"], ["--cache-from", "type=local,dest=/x"]]) {
      const result = await tsbuild(["build", "--root", join(dir, "root"), ...flags, "."], dir, dir);
      assert.is(result.status, 125, `${flags.join(" ")}: ${result.stderr}`);
      assert.match(result.stderr, `Cannot parse flag "${flags[0]}"`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
