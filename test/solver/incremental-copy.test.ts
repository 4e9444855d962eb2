import { chmod, lstat, mkdir, mkdtemp, readdir, readFile, rm, symlink, unlink, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { build } from "../../build/build.js";
import { SnapshotMetadata } from "../../snapshotter/snapshot-metadata.js";
import { builtRoot } from "../helpers/repo-root.js";
import { mountsUnder, withBuildRoot, type BuildRoot } from "./build-fixture.js";

// A far-off SOURCE_DATE_EPOCH dates the image's history (so two roots can give one image
// id) without clamping any file's mtime (so mtime changes reach the layer).
const EPOCH = { SOURCE_DATE_EPOCH: "4000000000" };
const past = (hours: number) => new Date(Date.now() - hours * 3_600_000);

/** What a build gives that must not depend on whether its COPY was incremental. */
interface Outcome {
  imageId: string;
  copyLayer: string;
  copyKey: string;
}

async function buildBoth(root: BuildRoot, context: string): Promise<Outcome & { copySnapshot: string }> {
  // The RUN appends to a file the COPY may have linked: it must go through overlayfs' copy-up.
  const withRun = await build({ context, worker: root.worker, buildArgs: EPOCH });
  const copyOnly = await build({ context, worker: root.worker, buildArgs: EPOCH, dockerfile: join(context, "copy-only.Dockerfile") });
  const copyStep = withRun.steps.find((step) => step.name.includes("COPY"))!;
  assert.equal(copyOnly.config.rootfs.diff_ids.slice(0, 2), withRun.config.rootfs.diff_ids.slice(0, 2));
  return { imageId: copyOnly.imageId, copyLayer: withRun.config.rootfs.diff_ids[1], copyKey: copyStep.cacheKey!, copySnapshot: copyStep.cacheKey! };
}

/** Regular files under `dir` with more than one link. */
async function linkedFiles(dir: string): Promise<number> {
  let count = 0;
  for (const entry of await readdir(dir, { recursive: true })) {
    const stat = await lstat(join(dir, entry));
    if (stat.isFile() && stat.nlink > 1) count++;
  }
  return count;
}

test("an incremental COPY gives the same layer, cache key and image id as a full copy, through edits, removals, mode and mtime changes, a file turned directory, symlinks and .dockerignore", async () => {
  const dir = await mkdtemp(join(tmpdir(), "tsb-incremental-"));
  try {
    const context = join(dir, "context");
    await mkdir(join(context, "sub"), { recursive: true });
    await writeFile(join(context, "Dockerfile"), "FROM busybox:latest\nCOPY . /ctx\nRUN echo more >> /ctx/keep.txt && cat /ctx/keep.txt > /seen\n");
    await writeFile(join(context, "copy-only.Dockerfile"), "FROM busybox:latest\nCOPY . /ctx\n");
    for (const name of ["keep.txt", "edit.txt", "gone.txt", "mode.sh", "touched.txt", "becomes-dir", "sub/deep.txt", "ignored-later.txt"]) {
      await writeFile(join(context, name), `${name}\n`.repeat(100));
    }
    await symlink("keep.txt", join(context, "link"));
    for (const name of ["keep.txt", "edit.txt", "gone.txt", "mode.sh", "touched.txt", "becomes-dir", "sub/deep.txt", "ignored-later.txt", "sub", "."]) {
      await utimes(join(context, name), past(5), past(5));
    }

    const edits: Array<[string, () => Promise<void>]> = [
      ["first build", async () => undefined],
      ["one file edited", () => writeFile(join(context, "edit.txt"), "edited\n")],
      [
        "a file removed, a mode changed, an mtime-only change",
        async () => {
          await unlink(join(context, "gone.txt"));
          await chmod(join(context, "mode.sh"), 0o755);
          await utimes(join(context, "touched.txt"), past(2), past(2));
        },
      ],
      [
        "a file turned into a directory, a symlink retargeted",
        async () => {
          await unlink(join(context, "becomes-dir"));
          await mkdir(join(context, "becomes-dir"));
          await writeFile(join(context, "becomes-dir", "inside.txt"), "inside\n");
          await unlink(join(context, "link"));
          await symlink("sub/deep.txt", join(context, "link"));
        },
      ],
      ["a .dockerignore added", () => writeFile(join(context, ".dockerignore"), "ignored-later.txt\n")],
    ];

    await withBuildRoot(async (incremental) => {
      let linkedSomewhere = false;
      for (const [what, edit] of edits) {
        await edit();
        const again = await buildBoth(incremental, context);
        const fresh = await withBuildRoot((root) => buildBoth(root, context));
        assert.is(again.copyLayer, fresh.copyLayer, `${what}: the COPY layer`);
        assert.is(again.copyKey, fresh.copyKey, `${what}: the COPY's cache key`);
        assert.is(again.imageId, fresh.imageId, `${what}: the image id`);
        const changes = await incremental.worker.snapshotter.changesDirectory!(again.copySnapshot);
        if ((await linkedFiles(changes)) > 0) linkedSomewhere = true;
      }
      assert.ok(linkedSomewhere, "the later COPYs linked the files they did not change");

      // An mtime-only change alone is no change to the key (as in BuildKit): the step stays cached.
      const before = await buildBoth(incremental, context);
      await utimes(join(context, "edit.txt"), past(1), past(1));
      const after = await buildBoth(incremental, context);
      assert.is(after.copyKey, before.copyKey);
      assert.is(after.copyLayer, before.copyLayer);

      // --no-cache copies everything again, as from scratch: not one link.
      const keys = async () => {
        const found: string[] = [];
        await incremental.worker.snapshotter.walk((info) => void found.push(info.key));
        return found;
      };
      const earlier = new Set(await keys());
      const fromScratch = await build({ context, worker: incremental.worker, buildArgs: EPOCH, noCache: true });
      assert.is(fromScratch.config.rootfs.diff_ids[1], (await withBuildRoot((root) => buildBoth(root, context))).copyLayer);
      const copies: string[] = [];
      for (const key of (await keys()).filter((key) => !earlier.has(key))) {
        const changes = await incremental.worker.snapshotter.changesDirectory!(key);
        if ((await lstat(join(changes, "ctx", "edit.txt")).catch(() => undefined))?.isFile()) copies.push(changes);
      }
      assert.is(copies.length, 1, "--no-cache committed a COPY of its own");
      assert.is(await linkedFiles(copies[0]), 0);
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("a kill after an incremental COPY's links and before its commit leaves nothing the next command does not take back, and the next build gives the full copy's layer", async () => {
  const dir = await mkdtemp(join(tmpdir(), "tsb-incremental-"));
  try {
    const context = join(dir, "context");
    await mkdir(context);
    await writeFile(join(context, "Dockerfile"), "FROM busybox:latest\nCOPY . /ctx\n");
    for (let i = 0; i < 20; i++) await writeFile(join(context, `f${i}`), `${i}\n`.repeat(500));
    await withBuildRoot(async (root) => {
      await build({ context, worker: root.worker, buildArgs: EPOCH });
      await writeFile(join(context, "f3"), "edited\n");
      const cli = (args: string[], env: NodeJS.ProcessEnv = {}) =>
        spawnSync(process.execPath, [join(builtRoot(), "cli", "main.js"), "--root", join(root.dir, "root"), ...args], {
          encoding: "utf8",
          env: { ...process.env, TMPDIR: join(root.dir, "tmp"), ...env },
        });
      const killed = cli(["build", "-q", "--build-arg", `SOURCE_DATE_EPOCH=${EPOCH.SOURCE_DATE_EPOCH}`, context], { TSBUILD_CRASH_AT: "copy.linked" });
      assert.is(killed.signal, "SIGKILL");
      assert.match(killed.stderr, "crash point copy.linked", "the COPY was incremental and died after linking");
      const fsck = cli(["fsck"]);
      assert.is(fsck.status, 0, fsck.stdout + fsck.stderr);
      assert.equal(await mountsUnder(root.dir), []);
      const owned = (await new SnapshotMetadata(join(root.dir, "root", "snapshots")).list()).filter((record) => record.labels["tsbuild.owner"] !== undefined);
      assert.equal(owned.map((record) => record.key), [], "no active snapshot of the dead build is left");

      const again = await build({ context, worker: root.worker, buildArgs: EPOCH });
      const fresh = await withBuildRoot((other) => build({ context, worker: other.worker, buildArgs: EPOCH }));
      assert.is(again.imageId, fresh.imageId);
      assert.equal(again.config.rootfs.diff_ids, fresh.config.rootfs.diff_ids);
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("an incremental COPY into a directory of the base and into directories it makes gives a full copy's layer, and links the files of the directories it made", async () => {
  const dir = await mkdtemp(join(tmpdir(), "tsb-incremental-"));
  try {
    const context = join(dir, "context");
    await mkdir(join(context, "made", "deeper"), { recursive: true });
    // /etc is in the base: the COPY's files land beside the base's; made/ and made/deeper/ are new.
    await writeFile(join(context, "Dockerfile"), "FROM busybox:latest\nCOPY . /etc/\n");
    const names = ["top.txt", "made/a.txt", "made/b.txt", "made/deeper/c.txt", "made/deeper/d.txt"];
    for (const name of names) await writeFile(join(context, name), `${name}\n`.repeat(200));
    await withBuildRoot(async (root) => {
      await build({ context, worker: root.worker, buildArgs: EPOCH });
      await writeFile(join(context, "top.txt"), "edited\n");
      await writeFile(join(context, "made", "b.txt"), "edited too\n");
      const again = await build({ context, worker: root.worker, buildArgs: EPOCH });
      const fresh = await withBuildRoot((other) => build({ context, worker: other.worker, buildArgs: EPOCH }));
      assert.equal(again.config.rootfs.diff_ids, fresh.config.rootfs.diff_ids);
      assert.is(again.imageId, fresh.imageId);
      const copyStep = again.steps.find((step) => step.name.includes("COPY"))!;
      const changes = await root.worker.snapshotter.changesDirectory!(copyStep.cacheKey!);
      const nlink = async (name: string) => (await lstat(join(changes, "etc", name))).nlink;
      for (const name of ["made/a.txt", "made/deeper/c.txt", "made/deeper/d.txt"]) assert.ok((await nlink(name)) > 1, `${name} is linked`);
      for (const name of ["top.txt", "made/b.txt"]) assert.is(await nlink(name), 1, `${name} is copied`);
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("an incremental COPY of several sources into one directory keeps the later source's file where two meet, as a full copy does", async () => {
  const dir = await mkdtemp(join(tmpdir(), "tsb-incremental-"));
  try {
    const context = join(dir, "context");
    for (const sub of ["a/sub", "b/sub"]) await mkdir(join(context, sub), { recursive: true });
    // a/ and b/ both hold same.txt and sub/x.txt: b's are copied over a's, into directories a's copy made.
    // The single files go first: /dst takes b's times last (a file copied in after would give it the clock's).
    await writeFile(join(context, "Dockerfile"), "FROM busybox:latest\nCOPY *.txt a/ b/ /dst/\n");
    const files: Record<string, string> = { "a/same.txt": "from a\n", "a/only-a.txt": "a\n", "a/sub/x.txt": "a x\n", "b/same.txt": "from b\n", "b/sub/x.txt": "b x\n", "one.txt": "1\n", "two.txt": "2\n" };
    for (const [name, text] of Object.entries(files)) await writeFile(join(context, name), text.repeat(50));
    await withBuildRoot(async (root) => {
      const contents = async (key: string) => {
        const changes = await root.worker.snapshotter.changesDirectory!(key);
        const read = async (name: string) => (await readFile(join(changes, "dst", name), "utf8")).slice(0, 12);
        return [await read("same.txt"), await read("sub/x.txt"), await read("only-a.txt"), await read("one.txt")];
      };
      const first = await build({ context, worker: root.worker, buildArgs: EPOCH });
      assert.equal(await contents(first.steps.find((step) => step.name.includes("COPY"))!.cacheKey!), ["from b\nfrom ", "b x\nb x\nb x\n", "a\na\na\na\na\na\n", "1\n1\n1\n1\n1\n1\n"]);
      for (const edit of ["two.txt", "a/only-a.txt", "b/same.txt"]) {
        await writeFile(join(context, edit), `edited ${edit}\n`);
        const again = await build({ context, worker: root.worker, buildArgs: EPOCH });
        const fresh = await withBuildRoot((other) => build({ context, worker: other.worker, buildArgs: EPOCH }));
        assert.equal(again.config.rootfs.diff_ids, fresh.config.rootfs.diff_ids, `after editing ${edit}`);
        assert.is(again.imageId, fresh.imageId);
        const [same, x] = await contents(again.steps.find((step) => step.name.includes("COPY"))!.cacheKey!);
        assert.is(x, "b x\nb x\nb x\n");
        assert.is(same, edit === "b/same.txt" ? "edited b/sam" : "from b\nfrom ");
      }
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
