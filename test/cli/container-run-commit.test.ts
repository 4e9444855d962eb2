import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mountsLeft, runtimeContainers, tsbuild, tsbuildOk, withContainerRoot } from "../container/container-fixture.js";

test("the classic walk-through: run busybox, add, modify and delete files, commit with -m and -a, run the new image", async () => {
  await withContainerRoot(async (root, dir) => {
    const run = tsbuild(root, ["run", "--name", "walk", "bb:1", "sh", "-c", "echo hello > /added.txt && echo staff2:x:51: >> /etc/group && rm /usr/bin/id && echo done"]);
    assert.is(run.stderr, "");
    assert.is(run.stdout, "done\n");
    assert.is(run.status, 0);

    assert.is(tsbuildOk(root, ["diff", "walk"]), "A /added.txt\nC /etc\nC /etc/group\nC /usr\nC /usr/bin\nD /usr/bin/id\n");

    const ps = tsbuildOk(root, ["ps", "-a"]).split("\n");
    assert.match(ps[0], /^CONTAINER ID +IMAGE +COMMAND +CREATED +STATUS +PORTS +NAMES$/);
    assert.match(ps[1], /^[0-9a-f]{12} +bb:1 +"sh -c echo hello ..." +.* ago +Exited \(0\) .* ago +walk$/);
    assert.is(tsbuildOk(root, ["ps"]).split("\n").length, 2, "ps without -a lists no stopped container");
    assert.match(tsbuildOk(root, ["ps", "-aq"]), /^[0-9a-f]{12}\n$/);

    const id = tsbuildOk(root, ["commit", "-m", "add a file", "-a", "Jane <jane@example.com>", "walk", "walked:1"]).trim();
    assert.match(id, /^sha256:[0-9a-f]{64}$/);

    const check = tsbuild(root, ["run", "--rm", "walked:1", "sh", "-c", "cat /added.txt; tail -n1 /etc/group; test -e /usr/bin/id || echo id is gone; test -e /usr/bin/env && echo env stays"]);
    assert.is(check.stdout, "hello\nstaff2:x:51:\nid is gone\nenv stays\n");
    assert.is(check.status, 0);

    const history = tsbuildOk(root, ["history", "walked:1"]).split("\n");
    assert.match(history[1], /^[0-9a-f]{12} .*sh -c echo hello.* add a file$/);
    const inspected = JSON.parse(tsbuildOk(root, ["inspect", "walked:1"])) as Array<{ Author: string; Comment?: string; Id: string }>;
    assert.is(inspected[0].Author, "Jane <jane@example.com>");
    assert.is(inspected[0].Comment, "add a file", "commit -m is the config's comment, as docker inspect shows it");
    assert.is(inspected[0].Id, id);
    assert.match(tsbuildOk(root, ["images"]), /\nwalked +1 +[0-9a-f]{12} +.* ago +[0-9.]+[kM]B\n/);

    // --rm removed its container; the committed one stays, and holds its image.
    assert.is(tsbuildOk(root, ["ps", "-aq"]).split("\n").length, 2);
    const rmi = tsbuild(root, ["rmi", "bb:1"]);
    assert.is(rmi.status, 1);
    assert.match(rmi.stderr, /container "[0-9a-f]{64}" uses image/);

    assert.is(tsbuildOk(root, ["rm", "walk"]), "walk\n");
    assert.is(tsbuildOk(root, ["ps", "-aq"]), "");
    assert.match(tsbuildOk(root, ["rmi", "bb:1"]), /Untagged: bb:1/);
    assert.equal(await mountsLeft(dir), []);
    assert.equal(await runtimeContainers(root), []);
  });
});

test("bind mounts, volumes, /etc/hosts, /etc/resolv.conf and /etc/hostname are not in the committed layer", async () => {
  await withContainerRoot(async (root, dir) => {
    const data = join(dir, "data");
    await import("node:fs/promises").then((fs) => fs.mkdir(join(dir, "ro")));
    await writeFile(join(dir, "ro", "host-file"), "from host\n");
    tsbuildOk(root, ["run", "--name", "base", "bb:1", "true"]);
    tsbuildOk(root, ["commit", "-c", "VOLUME /anon", "base", "withvol:1"]);
    await import("node:fs/promises").then((fs) => fs.mkdir(data));
    const script = [
      "echo bind > /data/f",
      "echo named > /named/f",
      "echo anon > /anon/f",
      "echo 10.0.0.1 extra >> /etc/hosts",
      "echo nameserver 10.0.0.2 >> /etc/resolv.conf",
      "cat /etc/hostname",
      "cat /ro/host-file",
      "(echo x > /ro/host-file) 2>/dev/null || echo read-only",
    ].join("; ");
    const run = tsbuild(root, ["run", "--name", "mounts", "--hostname", "box", "-v", `${data}:/data`, "-v", "named:/named", "-v", `${join(dir, "ro")}:/ro:ro`, "withvol:1", "sh", "-c", script]);
    assert.is(run.stderr, "");
    assert.is(run.stdout, "box\nfrom host\nread-only\n");
    assert.is(await readFile(join(data, "f"), "utf8"), "bind\n");

    assert.is(tsbuildOk(root, ["diff", "mounts"]), "", "nothing of the mounts is a change of the container");
    tsbuildOk(root, ["commit", "mounts", "after:1"]);
    const check = tsbuild(root, ["run", "--rm", "after:1", "sh", "-c", "ls -A /data /named /anon /ro 2>&1; grep -c extra /etc/hosts; grep -c 10.0.0.2 /etc/resolv.conf; cat /etc/hostname"]);
    assert.match(check.stdout, /^ls: \/data: No such file or directory$/m);
    assert.match(check.stdout, /^ls: \/named: No such file or directory$/m);
    assert.not.match(check.stdout, /^(f|host-file)$/m, "no file written through a mount is in the image");
    assert.match(check.stdout, /\n0\n0\n[0-9a-f]{12}\n$/);

    // The named volume kept its data for the next container, and survives rm.
    assert.is(tsbuildOk(root, ["run", "--rm", "-v", "named:/v", "bb:1", "cat", "/v/f"]), "named\n");
    tsbuildOk(root, ["rm", "mounts", "base"]);
    assert.is(tsbuildOk(root, ["run", "--rm", "-v", "named:/v", "bb:1", "cat", "/v/f"]), "named\n");
    assert.equal(await mountsLeft(dir), []);
  });
});

test("run takes the image's config and -e, --env-file, -w, -u, --network none and exits with the process's status", async () => {
  await withContainerRoot(async (root, dir) => {
    await writeFile(join(dir, "env"), "# a comment\nB=from file\nC=3\n");
    const out = tsbuild(root, ["run", "--rm", "-e", "A=1", "-e", "C=over", "--env-file", join(dir, "env"), "-w", "/work/dir", "-u", "alice", "--network", "none", "bb:1",
      "sh", "-c", 'echo "$A|$B|$C|$HOME"; pwd; id -u; cat /proc/net/dev | grep -c :; hostname | grep -cE "^[0-9a-f]{12}$"']);
    assert.is(out.stderr, "");
    assert.is(out.stdout, "1|from file|over|/home/alice\n/work/dir\n1000\n1\n1\n");
    assert.is(tsbuild(root, ["run", "--rm", "bb:1", "sh", "-c", "echo out; echo err >&2; exit 3"]).status, 3);
    assert.is(tsbuildOk(root, ["run", "-i", "--rm", "bb:1", "sh", "-c", "cat; echo end"], { input: "typed\n" }), "typed\nend\n", "-i gives the container stdin");
    assert.is(tsbuildOk(root, ["run", "--rm", "bb:1", "sh", "-c", "cat; echo end"], { input: "typed\n" }), "end\n", "without -i stdin is closed");
    const missing = tsbuild(root, ["run", "--rm", "bb:1", "no-such-command"]);
    assert.is(missing.status, 127);
    assert.match(missing.stderr, /no-such-command/);
    // Failures of tsbuild's own, before the command runs, exit 125 as docker run's do.
    const badUser = tsbuild(root, ["run", "--rm", "-u", "nosuchuser", "bb:1", "true"]);
    assert.is(badUser.status, 125);
    assert.match(badUser.stderr, /nosuchuser/);
    assert.is(tsbuildOk(root, ["ps", "-aq"]), "", "--rm containers are gone, even failed ones");
    const taken = tsbuild(root, ["run", "--name", "x", "bb:1", "true"]);
    assert.is(taken.status, 0);
    const again = tsbuild(root, ["run", "--name", "x", "bb:1", "true"]);
    assert.is(again.status, 125);
    assert.match(again.stderr, /Cannot create container "x": the name is in use/);
    tsbuildOk(root, ["rm", "x"]);
  });
});

test.run();
