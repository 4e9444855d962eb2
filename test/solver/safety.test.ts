import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { isTsbuildError } from "../../errors.js";
import { build } from "../../build/build.js";
import { filesContaining } from "../helpers/files-containing.js";
import { mountsUnder, withBuildRoot } from "./build-fixture.js";

test("COPY through a symlink in the image writes inside the image, never on the host", async () => {
  const hostDir = await mkdtemp(join(tmpdir(), "tsb-host-target-"));
  try {
    await withBuildRoot(async (root) => {
      const context = join(root.dir, "ctx");
      await mkdir(context);
      await writeFile(join(context, "one.txt"), "one\n");
      await writeFile(
        join(context, "Dockerfile"),
        `FROM busybox\nRUN mkdir -p ${hostDir} && ln -s ${hostDir} /escape && ln -s ../../../../.. /up\nCOPY one.txt /escape/\nCOPY one.txt /up/${hostDir}/via-dots.txt\n`,
      );
      const out = join(root.dir, "out");
      await build({ context, worker: root.worker, output: { type: "local", dest: out } });
      assert.equal(await readdir(hostDir), [], "nothing was written to the host directory the symlinks name");
      assert.equal((await readdir(join(out, hostDir))).sort(), ["one.txt", "via-dots.txt"]);
    });
  } finally {
    await rm(hostDir, { recursive: true, force: true });
  }
});

test(".dockerignore holds against a symlink to an ignored file: COPY of the alias (named or matched) fails as a dangling link would, a link in a copied directory stays a link", async () => {
  await withBuildRoot(async (root) => {
    const context = join(root.dir, "ctx");
    await mkdir(join(context, "dir"), { recursive: true });
    await writeFile(join(context, ".dockerignore"), "secret.txt\nprivate\n");
    await writeFile(join(context, "secret.txt"), "do-not-ship\n");
    await mkdir(join(context, "private"));
    await writeFile(join(context, "private", "key"), "do-not-ship\n");
    await symlink("secret.txt", join(context, "alias"));
    await symlink("../private/key", join(context, "dir", "key-link"));
    await writeFile(join(context, "dir", "ok.txt"), "ok\n");
    await writeFile(join(context, "Dockerfile"), "FROM busybox\nCOPY alias /x\n");
    const viaAlias = await build({ context, worker: root.worker }).catch((e: unknown) => e);
    assert.ok(isTsbuildError(viaAlias, "FILE_NOT_FOUND"), String(viaAlias));
    assert.match((viaAlias as Error).message, /excluded by \.dockerignore/);
    await writeFile(join(context, "Dockerfile"), "FROM busybox\nCOPY dir/key-link /y\n");
    const viaDirLink = await build({ context, worker: root.worker }).catch((e: unknown) => e);
    assert.ok(isTsbuildError(viaDirLink, "FILE_NOT_FOUND"), String(viaDirLink));

    await writeFile(join(context, "Dockerfile"), "FROM busybox\nCOPY ali* /z/\n");
    const viaWildcard = await build({ context, worker: root.worker }).catch((e: unknown) => e);
    assert.ok(isTsbuildError(viaWildcard, "FILE_NOT_FOUND"), String(viaWildcard));

    await writeFile(join(context, "Dockerfile"), "FROM busybox\nCOPY dir/ /out/\n");
    const out = join(root.dir, "out");
    await build({ context, worker: root.worker, output: { type: "local", dest: out } });
    assert.equal((await readdir(join(out, "out"))).sort(), ["key-link", "ok.txt"], "the link was copied as a link");
    assert.equal(await filesContaining(out, "do-not-ship"), []);
  });
});

test(".dockerignore holds for RUN --mount=type=bind of the context: ignored files are not there, exceptions are, and writes stay in the mount", async () => {
  await withBuildRoot(async (root) => {
    const context = join(root.dir, "ctx");
    await mkdir(join(context, "logs"), { recursive: true });
    await writeFile(join(context, ".dockerignore"), "secret.txt\nlogs\n!logs/keep.log\n");
    await writeFile(join(context, "secret.txt"), "do-not-ship\n");
    await writeFile(join(context, "logs", "keep.log"), "kept\n");
    await writeFile(join(context, "logs", "drop.log"), "do-not-ship\n");
    await writeFile(join(context, "app.txt"), "app\n");
    await symlink("secret.txt", join(context, "alias"));
    await writeFile(
      join(context, "Dockerfile"),
      "FROM busybox\nRUN --mount=type=bind,target=/m,rw (cd /m && find . | sort; cat alias || echo no-alias-target) > /seen 2>&1; echo scribble > /m/app.txt\n",
    );
    const out = join(root.dir, "out");
    await build({ context, worker: root.worker, output: { type: "local", dest: out } });
    const seen = await readFile(join(out, "seen"), "utf8");
    assert.equal(seen.trim().split("\n"), [".", "./.dockerignore", "./Dockerfile", "./alias", "./app.txt", "./logs", "./logs/keep.log", "cat: can't open 'alias': No such file or directory", "no-alias-target"]);
    assert.is(await readFile(join(context, "app.txt"), "utf8"), "app\n", "the context was not written");
    await writeFile(join(context, "Dockerfile"), "FROM busybox\nRUN --mount=type=bind,source=secret.txt,target=/s cat /s\n");
    const named = await build({ context, worker: root.worker }).catch((e: unknown) => e);
    assert.ok(isTsbuildError(named, "FILE_NOT_FOUND"), String(named));
    assert.equal(await mountsUnder(root.dir), []);
  });
});

test("an aborted build stops its running step, leaves nothing mounted and no image", async () => {
  await withBuildRoot(async (root) => {
    const context = join(root.dir, "ctx");
    await mkdir(context);
    await writeFile(join(context, "Dockerfile"), "FROM busybox\nRUN sleep 600\n");
    const controller = new AbortController();
    const started = Date.now();
    const building = build({
      context,
      worker: root.worker,
      tags: ["aborted:1"],
      signal: controller.signal,
      onProgress: (event) => {
        if (event.type === "vertex-started" && event.name.includes("sleep")) setTimeout(() => controller.abort(), 200);
      },
    });
    const error = await building.catch((e: unknown) => e);
    assert.ok(isTsbuildError(error, "CANCELLED"), String(error));
    assert.ok(Date.now() - started < 300_000, "the sleep did not run to its end");
    assert.equal(await mountsUnder(root.dir), []);
    assert.not.ok(await root.worker.store.images.find("aborted:1"));
    const kinds: string[] = [];
    await root.worker.snapshotter.walk((info) => void kinds.push(info.kind));
    assert.ok(kinds.every((kind) => kind === "committed"), kinds.join(","));
  });
});

test("with SOURCE_DATE_EPOCH two builds on separate roots give the same image id", async () => {
  const ids: string[] = [];
  const configs: unknown[] = [];
  for (let i = 0; i < 2; i++) {
    await withBuildRoot(async (root) => {
      const context = await root.fixture("multi-stage");
      const result = await build({ context, worker: root.worker, buildArgs: { SOURCE_DATE_EPOCH: "1700000000" } });
      assert.is(result.config.created, "2023-11-14T22:13:20Z");
      ids.push(result.imageId);
      configs.push(result.config);
    });
  }
  assert.equal(configs[0], configs[1]);
  assert.is(ids[0], ids[1]);
});


test.run();
