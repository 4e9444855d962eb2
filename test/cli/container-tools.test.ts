import { spawnSync } from "node:child_process";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { MAIN, mountsLeft, tsbuild, tsbuildOk, withContainerRoot } from "../container/container-fixture.js";

/** Runs the CLI under a pseudo-terminal (util-linux `script`), feeding `input`; returns what the terminal showed. */
function underPty(args: string[], input: string): { status: number | null; screen: string } {
  const command = [process.execPath, MAIN, ...args].map((word) => `'${word.replace(/'/g, "'\\''")}'`).join(" ");
  const result = spawnSync("script", ["-qec", command, "/dev/null"], { input, encoding: "utf8", timeout: 60_000, env: { ...process.env, TSBUILD_SNAPSHOTTER: "overlayfs" } });
  return { status: result.status, screen: result.stdout.replace(/\r\n/g, "\n") };
}

test("run -it gives the process a real terminal, reads its keys and exits with its status", async () => {
  await withContainerRoot(async (root) => {
    const { status, screen } = underPty(["run", "--root", root, "-it", "--rm", "bb:1", "sh", "-c", 'tty; test -t 0 && echo "stdin is a terminal, TERM=$TERM"; read line; echo "got $line"; exit 7'], "hello\n");
    assert.match(screen, /^\/dev\/pts\/\d+$/m);
    assert.match(screen, /^stdin is a terminal, TERM=xterm$/m);
    assert.match(screen, /^got hello$/m);
    assert.is(status, 7);
    assert.is(tsbuildOk(root, ["ps", "-aq"]), "");

    // Detached with -t: the process still gets a terminal, and its output is logged.
    tsbuildOk(root, ["run", "-dt", "--name", "tty", "bb:1", "sh", "-c", "tty; echo logged"]);
    for (let i = 0; i < 200 && !/logged/.test(tsbuildOk(root, ["logs", "tty"])); i++) await new Promise((done) => setTimeout(done, 50));
    assert.match(tsbuildOk(root, ["logs", "tty"]), /^\/dev\/pts\/\d+\r\nlogged\r\n$/);
    tsbuildOk(root, ["rm", "-f", "tty"]);
    // Exactly docker's bytes: nothing typed into the terminal (once an EOF echoed as "^@") before the output.
    tsbuildOk(root, ["run", "-dt", "--name", "hi", "bb:1", "echo", "hi"]);
    for (let i = 0; i < 200 && !/hi\r\n/.test(tsbuildOk(root, ["logs", "hi"])); i++) await new Promise((done) => setTimeout(done, 50));
    assert.is(tsbuildOk(root, ["logs", "hi"]), "hi\r\n");
    tsbuildOk(root, ["rm", "-f", "hi"]);
  });
});

test("exec -it, top, cp in both directions and inspect work on a running container", async () => {
  await withContainerRoot(async (root, dir) => {
    const id = tsbuildOk(root, ["run", "-d", "--name", "box", "-v", "vol:/vol", "bb:1", "sh", "-c", "exec sleep 60"]).trim();

    const { status, screen } = underPty(["exec", "--root", root, "-it", "box", "sh", "-c", "tty; read line; echo \"exec got $line\"; exit 3"], "hi\n");
    assert.match(screen, /^\/dev\/pts\/\d+$/m);
    assert.match(screen, /^exec got hi$/m);
    assert.is(status, 3);

    const top = tsbuildOk(root, ["top", "box"]).split("\n");
    assert.match(top[0], /^UID +PID +PPID +CMD$/);
    assert.match(top[1], /^0 +\d+ +\d+ +sleep 60$/);

    // In: a file and a directory; out: a file and a directory, as docker cp places them.
    await writeFile(join(dir, "note.txt"), "a note\n");
    await mkdir(join(dir, "tree", "sub"), { recursive: true });
    await writeFile(join(dir, "tree", "sub", "leaf"), "leaf\n");
    tsbuildOk(root, ["cp", join(dir, "note.txt"), "box:/tmp/"]);
    tsbuildOk(root, ["cp", join(dir, "tree"), "box:/srv"]);
    assert.is(tsbuildOk(root, ["exec", "box", "cat", "/tmp/note.txt", "/srv/sub/leaf"]), "a note\nleaf\n");
    tsbuildOk(root, ["exec", "box", "sh", "-c", "mkdir -p /out/d && echo inside > /out/d/f && ln -s /etc/passwd /out/d/link"]);
    await mkdir(join(dir, "back"));
    tsbuildOk(root, ["cp", "box:/out", join(dir, "back")]);
    assert.is(await readFile(join(dir, "back", "out", "d", "f"), "utf8"), "inside\n");
    assert.is(spawnSync("readlink", [join(dir, "back", "out", "d", "link")], { encoding: "utf8" }).stdout, "/etc/passwd\n", "a symlink is copied as a link");
    // A symlink of the container pointing at a host path resolves inside the container.
    await mkdir(join(dir, "hostside"));
    tsbuildOk(root, ["exec", "box", "sh", "-c", `mkdir -p ${join(dir, "hostside")} && ln -s ${join(dir, "hostside")} /escape`]);
    tsbuildOk(root, ["cp", join(dir, "note.txt"), "box:/escape/"]);
    tsbuildOk(root, ["cp", join(dir, "tree"), "box:/escape/"]);
    assert.equal(await readdir(join(dir, "hostside")), [], "nothing reached the host through the container's symlink");
    assert.is(tsbuildOk(root, ["exec", "box", "cat", `${join(dir, "hostside")}/note.txt`, `${join(dir, "hostside")}/tree/sub/leaf`]), "a note\nleaf\n");
    tsbuildOk(root, ["cp", "box:/etc/hostname", join(dir, "hostname-copy")]);
    assert.is(await readFile(join(dir, "hostname-copy"), "utf8"), "", "cp reads the container's own layer, not its mounts");
    assert.match(tsbuildOk(root, ["diff", "box"]), /^A \/srv\nA \/srv\/sub\nA \/srv\/sub\/leaf\n/m);

    const [inspected] = JSON.parse(tsbuildOk(root, ["inspect", "box"])) as Array<{
      Id: string;
      Name: string;
      State: { Status: string; Running: boolean; Pid: number };
      Mounts: Array<{ Type: string; Name: string; Destination: string }>;
      Config: { Cmd: string[]; Hostname: string };
    }>;
    assert.is(inspected.Id, id);
    assert.is(inspected.Name, "/box");
    assert.equal([inspected.State.Status, inspected.State.Running], ["running", true]);
    assert.ok(inspected.State.Pid > 0);
    assert.equal(inspected.Mounts.map((m) => [m.Type, m.Name, m.Destination]), [["volume", "vol", "/vol"]]);
    assert.equal(inspected.Config.Cmd, ["sh", "-c", "exec sleep 60"]);
    assert.is(inspected.Config.Hostname, id.slice(0, 12));
    assert.match(tsbuild(root, ["inspect", "nothing-here"]).stderr, /nothing-here/);

    tsbuildOk(root, ["rm", "-f", "box"]);
    const cpGone = tsbuild(root, ["cp", "box:/tmp", dir]);
    assert.match(cpGone.stderr, /No such container "box"/);
    assert.equal(await mountsLeft(dir), []);
  });
});

test("a committed image saves, loads into another root, is read by skopeo, and a build uses it as its base", async () => {
  await withContainerRoot(async (root, dir) => {
    tsbuildOk(root, ["run", "--name", "c", "bb:1", "sh", "-c", "echo committed > /marker && rm /usr/bin/id"]);
    const id = tsbuildOk(root, ["commit", "-m", "marker", "-c", 'CMD ["cat", "/marker"]', "-c", "ENV FROM_COMMIT=yes", "c", "base:1"]).trim();
    tsbuildOk(root, ["rm", "c"]);
    const docker = join(dir, "docker.tar");
    const oci = join(dir, "oci.tar");
    tsbuildOk(root, ["save", "-o", docker, "base:1"]);
    tsbuildOk(root, ["save", "--format", "oci", "-o", oci, "base:1"]);
    const skopeo = JSON.parse(spawnSync("skopeo", ["inspect", "--config", `oci-archive:${oci}`], { encoding: "utf8" }).stdout) as {
      config: { Cmd: string[]; Env: string[] };
      history: Array<{ comment?: string }>;
      rootfs: { diff_ids: string[] };
    };
    assert.equal(skopeo.config.Cmd, ["cat", "/marker"]);
    assert.ok(skopeo.config.Env.includes("FROM_COMMIT=yes"));
    assert.is(skopeo.rootfs.diff_ids.length, 2);
    assert.is(skopeo.history[skopeo.history.length - 1].comment, "marker");
    assert.is(spawnSync("skopeo", ["inspect", `docker-archive:${docker}`]).status, 0);

    const other = join(dir, "other");
    tsbuildOk(other, ["load", "-i", docker]);
    assert.is(tsbuildOk(other, ["run", "--rm", "base:1"]), "committed\n");
    assert.match(tsbuildOk(other, ["images", "-q"]), new RegExp(`^${id.slice(7, 19)}\n$`));

    const context = join(dir, "context");
    await mkdir(context);
    await writeFile(join(context, "Dockerfile"), 'FROM base:1\nRUN test ! -e /usr/bin/id && echo "built on $FROM_COMMIT" > /built\nCMD ["cat", "/marker", "/built"]\n');
    const built = spawnSync(process.execPath, [MAIN, "build", "--root", root, "-q", "-t", "built:1", context], { encoding: "utf8", env: { ...process.env, TSBUILD_SNAPSHOTTER: "overlayfs" } });
    assert.is(built.status, 0, built.stderr);
    assert.is(tsbuildOk(root, ["run", "--rm", "built:1"]), "committed\nbuilt on yes\n");
    assert.equal(await mountsLeft(dir), []);
  });
});

test.run();
