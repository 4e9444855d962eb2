import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { startRegistry } from "../registry/registry-fixture.js";
import { makeImage, withTempDir, workerAt } from "../registry/registry-test-helpers.js";
import { runTsbuild } from "./run-tsbuild.js";

// No test here reaches the internet: docker.io names are served by a mirror on 127.0.0.1,
// and the one that falls through to docker.io fails to resolve, which is what it checks.

test("a docker.io mirror, search registries and blocked names from registries.conf, through pull and build", async () => {
  await withTempDir(async (dir) => {
    const registry = await startRegistry(dir);
    try {
      const worker = await workerAt(dir, "source");
      await makeImage(worker, `${registry.domain}/library/base:1`, [{ "etc/base": "base\n" }], { cmd: ["sh"] });
      assert.is((await runTsbuild(["push", `${registry.domain}/library/base:1`, "--root", worker.root], dir)).status, 0);
      const conf = join(dir, "registries.conf");
      await writeFile(
        conf,
        [
          "[[registry]]",
          'prefix = "docker.io"',
          'location = "docker.io"',
          "[[registry.mirror]]",
          `location = "${registry.domain}"`,
          "[[registry]]",
          'prefix = "docker.io/library/forbidden"',
          "blocked = true",
          "",
        ].join("\n"),
      );
      const env = { CONTAINERS_REGISTRIES_CONF: conf, TSBUILD_SNAPSHOTTER: "native" };
      const root = join(dir, "root");

      const mirrored = await runTsbuild(["pull", "-q", "base:1", "--root", root], dir, env);
      assert.is(mirrored.stderr, "");
      assert.is(mirrored.stdout, "docker.io/library/base:1\n", "docker.io's name, served by the mirror");

      await writeFile(join(dir, "search-only.conf"), `unqualified-search-registries = ["${registry.domain}"]\n`);
      const searched = await runTsbuild(["pull", "-q", "library/base:1", "--root", join(dir, "root2")], dir, {
        ...env,
        CONTAINERS_REGISTRIES_CONF: join(dir, "search-only.conf"),
      });
      assert.is(searched.status, 0, searched.stderr);
      assert.is(searched.stdout, `${registry.domain}/library/base:1\n`, "a short name is found in the search registry");

      const blocked = await runTsbuild(["pull", "forbidden:1", "--root", root], dir, env);
      assert.is(blocked.status, 1);
      assert.match(blocked.stderr, /^error: Cannot pull "docker\.io\/library\/forbidden": registry "docker\.io\/library\/forbidden" is blocked in .*registries\.conf\n/);

      await mkdir(join(dir, "ctx"));
      await writeFile(join(dir, "ctx", "Dockerfile"), "FROM base:1\nCOPY Dockerfile /copied\n");
      const built = await runTsbuild(["build", "-q", "--root", join(dir, "root3"), join(dir, "ctx")], dir, env);
      assert.is(built.status, 0, built.stderr);

      // Not on the mirror: the pull falls through to docker.io itself, which does not resolve here.
      await writeFile(join(dir, "ctx", "Dockerfile"), "FROM scratch\nFROM debain:bookworm\nRUN true\n");
      const typo = await runTsbuild(["build", "--root", join(dir, "root3"), join(dir, "ctx")], dir, env);
      assert.is(typo.status, 1);
      assert.match(typo.stderr, /^error: Dockerfile:2: Cannot get manifest "library\/debain:bookworm": registry "docker\.io" /m);
      assert.match(typo.stderr, />\s+2 \| FROM debain:bookworm\n/);
      assert.not.match(typo.stderr, /--insecure-registry/, "build has no such flag");
    } finally {
      await registry.stop();
    }
  });
});

test("build --push and --cache-to go where registries.conf's location sends a name, with no variable set", async () => {
  await withTempDir(async (dir) => {
    const registry = await startRegistry(dir);
    try {
      const conf = join(dir, "registries.conf");
      // registry.example.test resolves nowhere: only the location makes the names reachable.
      await writeFile(conf, `[[registry]]\nprefix = "registry.example.test/team"\nlocation = "${registry.domain}/mirrored/team"\n`);
      const env = { CONTAINERS_REGISTRIES_CONF: conf, TSBUILD_SNAPSHOTTER: "native", TSBUILD_INSECURE_REGISTRIES: undefined };
      await mkdir(join(dir, "ctx"));
      await writeFile(join(dir, "ctx", "Dockerfile"), "FROM scratch\nCOPY Dockerfile /\n");
      const built = await runTsbuild(
        ["build", "-q", "--root", join(dir, "root"), "-t", "registry.example.test/team/app:1", "--push", "--cache-to", "type=registry,ref=registry.example.test/team/cache:1", join(dir, "ctx")],
        dir,
        env,
      );
      assert.is(built.status, 0, built.stderr);
      const pulled = await runTsbuild(["pull", "-q", `${registry.domain}/mirrored/team/app:1`, "--root", join(dir, "fresh")], dir, env);
      assert.is(pulled.status, 0, pulled.stderr);
      const rebuilt = await runTsbuild(
        ["build", "--progress", "plain", "--root", join(dir, "fresh"), "--cache-from", "type=registry,ref=registry.example.test/team/cache:1", join(dir, "ctx")],
        dir,
        env,
      );
      assert.is(rebuilt.status, 0, rebuilt.stderr);
      assert.match(rebuilt.stderr, /#\d+ CACHED/, "the cache came back through the same location");
    } finally {
      await registry.stop();
    }
  });
});

test("a registries.conf that does not parse stops a pull with its name and reason", async () => {
  await withTempDir(async (dir) => {
    await writeFile(join(dir, "bad.conf"), "[[registry]\n");
    const result = await runTsbuild(["pull", "localhost:1/x", "--root", join(dir, "root")], dir, { CONTAINERS_REGISTRIES_CONF: join(dir, "bad.conf") });
    assert.is(result.status, 1);
    assert.match(result.stderr, /^error: Cannot parse ".*bad\.conf": /);
  });
});

test.run();
