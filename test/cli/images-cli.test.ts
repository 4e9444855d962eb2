import { spawnSync } from "node:child_process";
import { chmod, mkdir, mkdtemp, readdir, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { builtRoot } from "../helpers/repo-root.js";
import { killChild, moduleUrl, startScript, waitForOutput } from "../store/child-process.js";
import { busyboxTar } from "../worker/worker-fixture.js";
import { cleanupRoot, mountsUnder } from "../snapshotter/tree-fixtures.js";

const main = join(builtRoot(), "cli", "main.js");

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function tsbuild(args: string[], options: { input?: string | Buffer; env?: Record<string, string> } = {}): Run {
  const result = spawnSync(process.execPath, [main, ...args], {
    input: options.input,
    encoding: "utf8",
    env: { ...process.env, TSBUILD_SNAPSHOTTER: "overlayfs", ...options.env },
    maxBuffer: 64 * 1024 * 1024,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Runs `fn` with a temp dir and a busybox rootfs tar in it; removes everything afterwards. */
async function withDir(fn: (dir: string, tar: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "tsbuild-images-cli-"));
  try {
    await fn(dir, await busyboxTar(dir));
    assert.equal(await mountsUnder(dir), []);
  } finally {
    await cleanupRoot(dir);
  }
}

const COMMANDS = ["import", "load", "save", "images", "tag", "rmi", "inspect", "history", "prune", "system df", "fsck"];

test("every image command has generated help with the --root flag", () => {
  for (const command of COMMANDS) {
    const result = tsbuild([...command.split(" "), "--help"]);
    assert.is(result.status, 0, command);
    assert.match(result.stdout, new RegExp(`^Usage: tsbuild ${command}`));
    assert.match(result.stdout, /--root DIR +The store root/);
  }
  assert.match(tsbuild([]).stdout, /system df/);
});

test("import prints the image id; images lists it as docker does; tag, history and inspect follow", async () => {
  await withDir(async (dir, tar) => {
    const root = ["--root", join(dir, "root")];
    const imported = tsbuild(["import", tar, "app:1", ...root]);
    assert.is(imported.stderr, "");
    assert.is(imported.status, 0);
    assert.match(imported.stdout, /^sha256:[0-9a-f]{64}\n$/);
    const id = imported.stdout.trim();
    const short = id.slice(7, 19);

    assert.is(tsbuild(["tag", "app:1", "example.com/app:2", ...root]).status, 0);
    const images = tsbuild(["images", ...root]);
    assert.is(images.status, 0);
    const lines = images.stdout.trimEnd().split("\n");
    // CREATED is as wide as "Less than a second ago" or "3 seconds ago": the machine's speed decides.
    assert.match(lines[0], /^REPOSITORY {8}TAG {7}IMAGE ID {7}CREATED +SIZE$/);
    // How long ago depends on the machine's speed too: any of docker's wordings.
    assert.match(lines[1], new RegExp(`^app +1 +${short} +(Less than a second|\\d+ seconds?|About a minute|\\d+ minutes) ago +\\d\\.\\d\\dMB$`));
    assert.match(lines[2], new RegExp(`^example.com/app +2 +${short} `));
    assert.is(tsbuild(["images", "-q", ...root]).stdout, `${short}\n${short}\n`);

    const history = tsbuild(["history", "app", ...root].map((a) => (a === "app" ? "app:1" : a)));
    assert.match(history.stdout, /^IMAGE +CREATED +CREATED BY +SIZE +COMMENT\n/);
    assert.match(history.stdout, new RegExp(`\\n${short} +.* ago +\\d\\.\\d\\dMB +Imported from ${tar.replace(/[.]/g, "\\.")}\\n$`));
    assert.match(tsbuild(["history", "--no-trunc", "app:1", ...root]).stdout, new RegExp(`\\n${id} `));

    const inspect = tsbuild(["inspect", "app:1", "missing:1", ...root]);
    assert.is(inspect.status, 1);
    assert.match(inspect.stderr, /^error: No such image "missing:1"\n$/);
    const [json] = JSON.parse(inspect.stdout) as Array<Record<string, unknown>>;
    assert.is(json.Id, id);
    assert.equal(json.RepoTags, ["app:1", "example.com/app:2"]);
    assert.is((json.RootFS as { Layers: string[] }).Layers.length, 1);
  });
});

test("save and load move images between roots through files and pipes", async () => {
  await withDir(async (dir, tar) => {
    const a = ["--root", join(dir, "a")];
    const id = tsbuild(["import", tar, "app:1", ...a]).stdout.trim();
    tsbuild(["import", tar, ...a]);
    const archive = join(dir, "app.tar");
    assert.is(tsbuild(["save", "-o", archive, "app:1", ...a]).status, 0);
    const loaded = tsbuild(["load", "-i", archive, "--root", join(dir, "b")]);
    assert.is(loaded.stderr, "");
    assert.is(loaded.stdout, "Loaded image: app:1\n");

    const piped = spawnSync(process.execPath, [main, "save", "--format", "oci", id.slice(7), ...a], { env: { ...process.env, TSBUILD_SNAPSHOTTER: "overlayfs" }, maxBuffer: 64 << 20 });
    assert.is(piped.status, 0);
    const fromStdin = tsbuild(["load"], { input: piped.stdout, env: { TSBUILD_ROOT: join(dir, "c") } });
    assert.is(fromStdin.stdout, `Loaded image ID: ${id}\n`, "an image saved by id loads nameless, from TSBUILD_ROOT");
    assert.match(tsbuild(["images"], { env: { TSBUILD_ROOT: join(dir, "c") } }).stdout, /\n<none> +<none> +/);
  });
});

test("rmi prints what it untags and deletes, goes on past a missing image and exits 1", async () => {
  await withDir(async (dir, tar) => {
    const root = ["--root", join(dir, "root")];
    const id = tsbuild(["import", tar, "app:1", ...root]).stdout.trim();
    tsbuild(["tag", "app:1", "app:2", ...root]);
    const first = tsbuild(["rmi", "app:2", ...root]);
    assert.is(first.stdout, "Untagged: app:2\n");
    const second = tsbuild(["rmi", "nothing:here", "app:1", ...root]);
    assert.is(second.status, 1);
    assert.is(second.stdout, `Untagged: app:1\nDeleted: ${id}\n`);
    assert.match(second.stderr, /error: No such image "nothing:here"/);
    assert.is(tsbuild(["images", "-q", ...root]).stdout, "");
    assert.equal(await readdir(join(dir, "root", "snapshots", "keys")), [], "no snapshot is left");
  });
});

test("prune asks first, system df and fsck report, and a corrupt blob makes fsck fail", async () => {
  await withDir(async (dir, tar) => {
    const root = ["--root", join(dir, "root")];
    const dangling = tsbuild(["import", tar, ...root]).stdout.trim();
    tsbuild(["import", tar, "kept:1", "-m", "different", ...root]);
    const refused = tsbuild(["prune", ...root], { input: "n\n" });
    assert.is(refused.status, 125);
    assert.match(refused.stdout, /WARNING! This will remove all dangling images\.\nAre you sure you want to continue\? \[y\/N\] $/);
    const pruned = tsbuild(["prune", "-f", ...root]);
    assert.is(pruned.status, 0);
    assert.match(pruned.stdout, new RegExp(`^Deleted Images:\\ndeleted: ${dangling}\\n\\nTotal reclaimed space: \\d+(\\.\\d+)?k?B\\n$`));

    // Its own TMPDIR: the machine's may hold the live scratch of other tsbuild processes, which df counts.
    await mkdir(join(dir, "tmp"));
    const df = tsbuild(["system", "df", ...root], { env: { TMPDIR: join(dir, "tmp") } });
    assert.match(df.stdout, /^TYPE +TOTAL +ACTIVE +SIZE +RECLAIMABLE\nImages +1 +0 +[\d.]+[kM]B +[\d.]+[kM]B \(100%\)\nContainers +0 +0 +0B +0B\nLocal Volumes +0 +0 +0B +0B\nBuild Cache +0 +0 +0B +0B\nBuild Scratch +0 +0 +0B +0B\n$/);

    assert.match(tsbuild(["fsck", ...root]).stdout, /^Checked \d+ blobs, 1 images, \d+ refs: no problems\n$/);
    const inspect = JSON.parse(tsbuild(["inspect", "kept:1", ...root]).stdout) as Array<{ Id: string }>;
    const blob = join(dir, "root", "content", "blobs", "sha256", inspect[0].Id.slice(7));
    await chmod(blob, 0o644);
    await writeFile(blob, "{}");
    const broken = tsbuild(["fsck", ...root]);
    assert.is(broken.status, 1);
    assert.match(broken.stdout, new RegExp(`^broken: blob ${inspect[0].Id}: content has digest sha256:`));
  });
});

test("rmi collects at once, yet spares the blobs of another process's lease until that process is gone; import reads standard input", async () => {
  await withDir(async (dir, tar) => {
    const rootDir = join(dir, "root");
    const root = ["--root", rootDir];
    const stdinImport = tsbuild(["import", "-", "piped:1", ...root], { input: await readFile(tar) });
    assert.is(stdinImport.status, 0, stdinImport.stderr);
    const build = startScript(`
      const { openStore } = await import(${JSON.stringify(moduleUrl("store/store.js", import.meta.url))});
      const store = await openStore({ root: ${JSON.stringify(rootDir)} });
      await store.refs.acquireLease();
      const blob = await store.content.write("a layer a concurrent build has written");
      console.log(blob.digest);
      setInterval(() => undefined, 1000);
    `);
    try {
      await waitForOutput(build, "sha256:");
      const digest = build.stdout().trim();
      const blob = join(rootDir, "content", "blobs", "sha256", digest.slice(7));
      assert.is(tsbuild(["rmi", "piped:1", ...root]).status, 0);
      assert.ok(await readFile(blob).then(() => true, () => false), "the build's blob survives rmi");
      await killChild(build);
      assert.is(tsbuild(["prune", "-f", ...root]).status, 0);
      assert.not.ok(await readFile(blob).then(() => true, () => false), "once its process is gone the blob is collected");
    } finally {
      await killChild(build);
    }
  });
});

test("load refuses an unsafe archive with a clear error and records nothing", async () => {
  await withDir(async (dir) => {
    const evil = join(dir, "evil.tar");
    // A docker-archive whose manifest names a member that climbs out.
    const { encodeTarHeader, endOfArchive, paddingFor } = await import("../../oci/layer-tar-header.js");
    const body = Buffer.from(JSON.stringify([{ Config: "../c.json", RepoTags: ["x:1"], Layers: [] }]));
    const header = { type: "file" as const, mode: 0o644, uid: 0, gid: 0, mtime: 0, linkpath: "", devmajor: 0, devminor: 0, xattrs: new Map<string, Buffer>() };
    await writeFile(evil, Buffer.concat([encodeTarHeader({ ...header, path: "manifest.json", size: body.length }), body, paddingFor(body.length), endOfArchive()]));
    const result = tsbuild(["load", "-i", evil, "--root", join(dir, "root")]);
    assert.is(result.status, 1);
    assert.match(result.stderr, /^error: Invalid image archive ".*evil\.tar": member "\.\.\/c\.json" is missing\n$/);
    assert.is(tsbuild(["images", "-q", "--root", join(dir, "root")]).stdout, "");
    assert.is(tsbuild(["load", "-i", join(dir, "nope.tar"), "--root", join(dir, "root")]).status, 1);
    assert.is(tsbuild(["save", "--root", join(dir, "root")]).status, 125);
  });
});

test.run();
