import { spawn } from "node:child_process";
import { once } from "node:events";
import { chown, mkdir, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { SnapshotMetadata } from "../../snapshotter/snapshot-metadata.js";
import { listMountPoints } from "../../snapshotter/mount-table.js";
import { runCommand } from "../../snapshotter/run-command.js";
import { makeOwnedTempDir } from "../../util/owned-temp-dir.js";
import { reclaimLeftovers } from "../../worker/reclaim-leftovers.js";
import { runTsbuild } from "../cli/run-tsbuild.js";
import { filesContaining } from "../helpers/files-containing.js";
import { builtRoot } from "../helpers/repo-root.js";
import { runAndKill } from "../helpers/run-and-kill.js";
import { cleanupRoot, makeRoot } from "../snapshotter/tree-fixtures.js";
import { busyboxTar } from "./worker-fixture.js";

const main = join(builtRoot(), "cli", "main.js");

/** A root, a TMPDIR and a context with a secret, all under one temp dir; busybox imported. */
async function setUp(dir: string, dockerfile: string): Promise<{ env: Record<string, string>; context: string; secret: string; secretFile: string }> {
  const tmp = await mkdir(join(dir, "tmp"), { recursive: true }).then(() => join(dir, "tmp"));
  const env = { TSBUILD_ROOT: join(dir, "root"), TMPDIR: tmp, TSBUILD_SNAPSHOTTER: "overlayfs" };
  const context = join(dir, "context");
  await mkdir(context);
  await writeFile(join(context, "Dockerfile"), dockerfile);
  await writeFile(join(context, "data.txt"), "context data\n");
  const secret = `reclaim-secret-${process.pid}-${Date.now()}`;
  const secretFile = join(dir, "secret.txt");
  await writeFile(secretFile, secret);
  const imported = await runTsbuild(["import", await busyboxTar(dir), "busybox:latest"], dir, env);
  assert.is(imported.status, 0, imported.stderr);
  return { env, context, secret, secretFile };
}

/** Everything a dead build could leave, counted. */
async function leftovers(dir: string): Promise<Record<string, unknown>> {
  const root = join(dir, "root");
  const records = await new SnapshotMetadata(join(root, "snapshots")).list();
  const list = async (path: string) => readdir(path).catch(() => [] as string[]);
  return {
    mounts: [...(await listMountPoints())].filter((point) => point.startsWith(`${dir}/`)),
    activeSnapshots: records.filter((record) => record.kind !== "committed").map((record) => record.key),
    bundles: await list(join(root, "executor")),
    runtimeState: [...(await list(join(root, "runtime", "runc"))), ...(await list(join(root, "runtime", "crun")))],
    staging: await list(join(root, "tmp")),
    tmpdir: await list(join(dir, "tmp")),
  };
}

const NOTHING = { mounts: [], activeSnapshots: [], bundles: [], runtimeState: [], staging: [], tmpdir: [] };

test("a build SIGKILLed mid-RUN with a secret mounted: no secret bytes under the root at any time; then one command: no mount, no active snapshot, no sandbox", async () => {
  const dir = await makeRoot();
  try {
    const { env, context, secret, secretFile } = await setUp(
      dir,
      // The secret as a file and in the environment (which the runtime's config.json spells out).
      "FROM busybox\nCOPY data.txt /data.txt\nRUN --mount=type=secret,id=s --mount=type=secret,id=s,env=SECRET_VALUE sh -c 'cat /run/secrets/s > /dev/null; echo running; sleep 600'\n",
    );
    // Killed at the step's first output line: the sandbox runs and its secret is mounted.
    const { ended, at, stderr } = await runAndKill(["build", "--progress", "plain", "--secret", `id=s,src=${secretFile}`, context], "executor.output", { ...process.env, ...env });
    assert.is(ended, "SIGKILL", stderr);
    assert.is(at, "executor.output");

    // What the kill left: the step's overlay, a bundle, the runtime's container still running.
    // Its secrets live on a tmpfs of the runtime's own mount namespace: not here, not even now.
    const left = await leftovers(dir);
    assert.equal((left.mounts as string[]).filter((point) => !point.startsWith(`${join(dir, "root", "tmp")}/`)), [], `only the step's overlay is mounted: ${JSON.stringify(left)}`);
    assert.ok((left.activeSnapshots as string[]).length > 0);
    assert.ok((left.bundles as string[]).length > 0);
    assert.ok((left.runtimeState as string[]).length > 0, "the sandbox outlived its tsbuild");
    assert.equal(await filesContaining(join(dir, "root"), secret), [], "no file under the root holds the secret, even before the next command");

    const images = await runTsbuild(["images"], dir, env);
    assert.is(images.status, 0, images.stderr);
    assert.equal(await leftovers(dir), NOTHING);
    assert.equal(await filesContaining(join(dir, "root"), secret), []);
    assert.equal(await filesContaining(join(dir, "tmp"), secret), []);
    const fsck = await runTsbuild(["fsck"], dir, env);
    assert.is(fsck.status, 0, fsck.stdout + fsck.stderr);
  } finally {
    await cleanupRoot(dir);
  }
});

test("reclaiming a root removes only dead owners' temp dirs, unmounting what is mounted inside first, and leaves live ones, foreign ones and other users' alone", async () => {
  const dir = await makeRoot();
  try {
    const root = join(dir, "root");
    const tmp = join(dir, "tmp");
    await mkdir(join(root, "tmp"), { recursive: true });
    await mkdir(tmp);
    // pid 4194304 is above Linux's pid_max: no such process can be alive.
    const deadStaging = join(root, "tmp", "4194304-1-build-abcdef012345");
    const deadTemp = join(tmp, "tsbuild-ssh-4194304-1-AbC123");
    const liveTemp = await makeOwnedTempDir(tmp, "ssh");
    const foreign = join(tmp, "tsbuild-crash-Zz9Yy8");
    // Another user's (a rootless tsbuild's, say): $TMPDIR is shared, its leftovers are its own.
    const otherUsers = join(tmp, "tsbuild-ssh-4194304-2-XyZ789");
    for (const path of [deadStaging, deadTemp, foreign, otherUsers]) await mkdir(path);
    await chown(otherUsers, 4242, 4242);
    // A dead build's mount point with something mounted: removing through it would empty the mount.
    await mkdir(join(deadStaging, "step"));
    await runCommand("mount", ["-t", "tmpfs", "tsbuild-test", join(deadStaging, "step")]);
    await writeFile(join(deadStaging, "step", "inside"), "x");

    const report = await reclaimLeftovers(root, { tempDir: tmp });
    assert.equal(report.tempDirs.sort(), [deadStaging, deadTemp].sort());
    assert.equal(report.mounts, [join(deadStaging, "step")]);
    assert.equal((await readdir(tmp)).sort(), [foreign, liveTemp, otherUsers].map((path) => path.split("/").at(-1)).sort());
    assert.equal(await readdir(join(root, "tmp")), []);
    assert.equal([...(await listMountPoints())].filter((point) => point.startsWith(`${dir}/`)), []);
  } finally {
    await cleanupRoot(dir);
  }
});

test("the scratch of a live build is left alone and counted by system df; once its process is killed, fsck's opening reclaims it", async () => {
  const dir = await makeRoot();
  const { env, context } = await setUp(dir, "FROM busybox\nRUN sh -c 'echo $((6*7))-alive; sleep 600'\n");
  const child = spawn(process.execPath, [main, "build", "--progress", "plain", context], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  try {
    let output = "";
    await new Promise<void>((resolve, reject) => {
      const look = (chunk: Buffer) => {
        output += chunk.toString("utf8");
        if (/42-alive/.test(output)) resolve(); // the step's output, not its command line
      };
      child.stdout.on("data", look);
      child.stderr.on("data", look);
      child.once("close", () => reject(new Error(`the build ended early: ${output}`)));
    });
    const df = await runTsbuild(["system", "df"], dir, env);
    assert.is(df.status, 0, df.stderr);
    const row = /^Build Scratch +(\d+) +(\d+) /m.exec(df.stdout);
    assert.ok(row !== null && Number(row[1]) >= 2 && row[1] === row[2], `a live build's sandbox, snapshot and staging dir are active:\n${df.stdout}`);
    const during = await leftovers(dir);
    assert.is((during.bundles as string[]).length, 1, "another command left the live sandbox alone");
    assert.ok((during.activeSnapshots as string[]).length > 0);

    child.kill("SIGKILL");
    await once(child, "close");
    const fsck = await runTsbuild(["fsck"], dir, env);
    assert.is(fsck.status, 0, fsck.stdout + fsck.stderr);
    assert.match(fsck.stdout, /^reclaimed from dead processes: 1 sandbox\(es\), 1 active snapshot\(s\), \d+ mount\(s\), \d+ scratch dir\(s\)$/m);
    assert.equal(await leftovers(dir), NOTHING);
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    // The next command reclaims the sandbox of a build this test killed, whatever failed above.
    await runTsbuild(["images"], dir, env);
    await cleanupRoot(dir);
  }
});

test.run();
