import { writeFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { tsbuild, tsbuildOk, withContainerRoot } from "../container/container-fixture.js";

/**
 * Builds `FROM bb:1` with `lines` into `name` (no network: bb:1 is in the store), created at
 * `epoch` when given: creation times order images for before= and since=, and builds a
 * second apart must not decide a test.
 */
async function build(root: string, dir: string, name: string, lines: string, epoch?: number): Promise<string> {
  const context = join(dir, name.replace(/[:/]/g, "-"));
  await mkdir(context, { recursive: true });
  await writeFile(join(context, "Dockerfile"), `FROM bb:1\n${lines}\n`);
  return tsbuildOk(root, ["build", "-q", "-t", name, context], epoch === undefined ? {} : { env: { SOURCE_DATE_EPOCH: String(epoch) } }).trim();
}

test("images: REPOSITORY[:TAG], --filter reference/label/dangling/before/since and --format as docker's", async () => {
  await withContainerRoot(async (root, dir) => {
    // bb:1 was imported now: it is the newest.
    await build(root, dir, "app:1", "LABEL tier=web\nRUN echo 1 > /one", 1_000_000_000);
    await build(root, dir, "app:2", "LABEL tier=db\nRUN echo 2 > /two", 1_100_000_000);
    await build(root, dir, "tool:1", "RUN echo t > /t", 1_200_000_000);
    const names = (args: string[]) => tsbuildOk(root, ["images", "--format", "{{.Repository}}:{{.Tag}}", ...args]).split("\n").filter(Boolean).sort();

    assert.equal(names(["app"]), ["app:1", "app:2"]);
    assert.equal(names(["app:2"]), ["app:2"]);
    assert.equal(names(["--filter", "reference=a*:1"]), ["app:1"]);
    assert.equal(names(["--filter", "reference=app", "--filter", "reference=tool"]), ["app:1", "app:2", "tool:1"]);
    assert.equal(names(["--filter", "label=tier"]), ["app:1", "app:2"]);
    assert.equal(names(["--filter", "label=tier=db"]), ["app:2"]);
    assert.equal(names(["--filter", "since=app:1"]), ["app:2", "bb:1", "tool:1"]);
    assert.equal(names(["--filter", "before=app:2"]), ["app:1"]);
    assert.equal(names(["--filter", "since=app:1", "--filter", "before=tool:1"]), ["app:2"]);
    assert.equal(names(["--filter", "dangling=true"]), []);
    // Rebuilding app:2 from other text leaves the old image without a name: dangling.
    await build(root, dir, "app:2", "LABEL tier=db\nRUN echo 3 > /two", 1_100_000_000);
    assert.equal(names(["--filter", "dangling=true"]), ["<none>:<none>"]);
    assert.equal(names(["--filter", "dangling=false"]), ["app:1", "app:2", "bb:1", "tool:1"]);

    const json = tsbuildOk(root, ["images", "--format", "json", "tool"]);
    const row = JSON.parse(json) as Record<string, string>;
    assert.equal(Object.keys(row), ["Containers", "CreatedAt", "CreatedSince", "Digest", "ID", "Repository", "SharedSize", "Size", "Tag", "UniqueSize", "VirtualSize"]);
    assert.is(row.Repository, "tool");
    assert.match(row.CreatedAt, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0000 UTC$/);
    const table = tsbuildOk(root, ["images", "--format", "table {{.Repository}}\\t{{.Tag}}", "tool"]);
    assert.is(table, "REPOSITORY   TAG\ntool         1\n");
    const noTrunc = tsbuildOk(root, ["images", "--no-trunc", "-q", "tool"]);
    assert.match(noTrunc, /^sha256:[0-9a-f]{64}\n$/);

    const bad = tsbuild(root, ["images", "--filter", "colour=red"]);
    assert.is(bad.status, 125);
    assert.match(bad.stderr, /Invalid filter "colour" for "tsbuild images"/);
    const typo = tsbuild(root, ["images", "--format", "{{.Repo}}"]);
    assert.is(typo.status, 125);
    assert.match(typo.stderr, /at <\.Repo>: can't evaluate field Repo/);
  });
});

test("ps: --filter status/name/label/ancestor/exited and --format; history and inspect take --format", async () => {
  await withContainerRoot(async (root, dir) => {
    await build(root, dir, "web:1", "LABEL role=frontend\nRUN echo web > /web");
    tsbuildOk(root, ["run", "--name", "ok", "bb:1", "true"]);
    assert.is(tsbuild(root, ["run", "--name", "failed", "web:1", "sh", "-c", "exit 3"]).status, 3);
    const up = tsbuildOk(root, ["run", "-d", "--name", "server", "web:1", "sleep", "300"]).trim();
    const names = (args: string[]) => tsbuildOk(root, ["ps", "--format", "{{.Names}}", ...args]).split("\n").filter(Boolean).sort();

    assert.equal(names([]), ["server"]);
    assert.equal(names(["-a"]), ["failed", "ok", "server"]);
    assert.equal(names(["--filter", "status=exited"]), ["failed", "ok"], "a status filter looks at stopped containers without -a");
    assert.equal(names(["--filter", "exited=3"]), ["failed"]);
    assert.equal(names(["-a", "--filter", "name=^f"]), ["failed"]);
    assert.equal(names(["-a", "--filter", "label=role=frontend"]), ["failed", "server"]);
    assert.equal(names(["-a", "--filter", "ancestor=bb:1"]), ["failed", "ok", "server"], "web:1 is built on bb:1");
    assert.equal(names(["-a", "--filter", "ancestor=web:1"]), ["failed", "server"]);
    assert.equal(names(["-a", "--filter", "status=running", "--filter", "status=created"]), ["server"]);
    assert.is(tsbuildOk(root, ["ps", "-q", "--no-trunc"]), `${up}\n`);
    assert.is(tsbuildOk(root, ["ps", "--format", '{{.Names}} {{.State}} {{.Command}} {{.Label "role"}}']), 'server running "sleep 300" frontend\n');
    assert.match(tsbuildOk(root, ["ps", "--format", "table {{.Names}}\\t{{.Status}}"]), /^NAMES {5}STATUS\nserver {4}Up /);
    const bad = tsbuild(root, ["ps", "--filter", "status=sleeping"]);
    assert.is(bad.status, 125);
    assert.match(bad.stderr, /Invalid filter "status=sleeping"/);

    assert.equal(tsbuildOk(root, ["history", "--format", "{{.CreatedBy}}", "web:1"]).split("\n").slice(0, 2), ["RUN /bin/sh -c echo web > /web # buildkit", "LABEL role=frontend"]);
    assert.is(tsbuildOk(root, ["inspect", "-f", '{{.Config.Cmd}} {{index .Config.Labels "role"}} {{json .Config.Labels}}', "web:1"]), '[] frontend {"role":"frontend"}\n');
    assert.is(tsbuildOk(root, ["inspect", "--format", "{{.Name}} {{.State.Status}} {{.Config.Cmd}}", "server"]), "/server running [sleep 300]\n");
    tsbuildOk(root, ["rm", "-f", "server"]);
  });
});

test("SIZE is docker's: a WORKDIR layer is 0B, a file's layer its bytes, tar headers nothing", async () => {
  await withContainerRoot(async (root, dir) => {
    await build(root, dir, "wd:1", "WORKDIR /deep/dir");
    await build(root, dir, "file:1", "RUN head -c 5000 /dev/zero > /zeros");
    const sizes = (name: string) => tsbuildOk(root, ["history", "--format", "{{.Size}}", name]).split("\n").filter(Boolean);
    assert.equal(sizes("wd:1").slice(0, 1), ["0B"]);
    assert.equal(sizes("file:1").slice(0, 1), ["5kB"]);
    const listed = (name: string) => tsbuildOk(root, ["images", "--format", "{{.Size}}", name]).trim();
    assert.is(listed("wd:1"), listed("bb:1"), "a layer of directories adds nothing");
    assert.is(tsbuildOk(root, ["inspect", "-f", "{{.Size}}", "file:1"]).trim(), String(Number(tsbuildOk(root, ["inspect", "-f", "{{.Size}}", "bb:1"]).trim()) + 5000));
  });
});

test.run();
