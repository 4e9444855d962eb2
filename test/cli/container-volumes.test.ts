import { access } from "node:fs/promises";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mountsLeft, tsbuild, tsbuildOk, withContainerRoot } from "../container/container-fixture.js";

const ANONYMOUS = /^[0-9a-f]{64}$/;

test("volume create, ls, inspect, rm and prune; anonymous volumes for VOLUME paths start with the image's files and survive rm unless -v", async () => {
  await withContainerRoot(async (root, dir) => {
    assert.is(tsbuildOk(root, ["volume", "create", "--label", "team=a", "data"]), "data\n");
    const [inspected] = JSON.parse(tsbuildOk(root, ["volume", "inspect", "data"])) as Array<{ Name: string; Driver: string; Mountpoint: string; Labels: Record<string, string> }>;
    assert.equal([inspected.Name, inspected.Driver, inspected.Labels], ["data", "local", { team: "a" }]);
    await access(inspected.Mountpoint);

    tsbuildOk(root, ["run", "--name", "seed", "bb:1", "sh", "-c", "mkdir /anon && echo seed > /anon/seed"]);
    tsbuildOk(root, ["commit", "-c", "VOLUME /anon", "seed", "withvol:1"]);
    tsbuildOk(root, ["rm", "seed"]);

    const run = tsbuild(root, ["run", "--name", "user", "-v", "data:/data", "withvol:1", "sh", "-c", "cat /anon/seed; echo more > /anon/more; echo kept > /data/kept"]);
    assert.is(run.stdout, "seed\n", "a new anonymous volume holds what the image has at its path");
    const names = tsbuildOk(root, ["volume", "ls", "-q"]).trim().split("\n");
    assert.is(names.length, 2);
    const anonymous = names.find((name) => ANONYMOUS.test(name))!;
    assert.ok(anonymous, names.join(","));
    const table = tsbuildOk(root, ["volume", "ls"]).split("\n");
    assert.match(table[0], /^DRIVER +VOLUME NAME$/);
    assert.equal(table.slice(1).sort(), ["", `local     ${anonymous}`, "local     data"].sort());

    const inUse = tsbuild(root, ["volume", "rm", "data"]);
    assert.is(inUse.status, 1);
    assert.match(inUse.stderr, /Cannot remove volume "data": container "user" uses it/);

    tsbuildOk(root, ["rm", "user"]);
    assert.is(tsbuildOk(root, ["volume", "ls", "-q"]).trim().split("\n").length, 2, "rm without -v keeps the volumes");
    assert.match(tsbuildOk(root, ["volume", "prune"]), new RegExp(`Deleted Volumes:\\n${anonymous}\\n`));
    assert.is(tsbuildOk(root, ["volume", "ls", "-q"]), "data\n", "prune keeps named volumes");
    assert.is(tsbuildOk(root, ["run", "--rm", "-v", "data:/d", "bb:1", "cat", "/d/kept"]), "kept\n");

    tsbuildOk(root, ["run", "--name", "short", "withvol:1", "true"]);
    assert.is(tsbuildOk(root, ["volume", "ls", "-q"]).trim().split("\n").length, 2);
    tsbuildOk(root, ["rm", "-v", "short"]);
    assert.is(tsbuildOk(root, ["volume", "ls", "-q"]), "data\n", "rm -v removes the container's anonymous volumes");
    assert.is(tsbuildOk(root, ["volume", "rm", "data"]), "data\n");
    assert.is(tsbuildOk(root, ["volume", "ls", "-q"]), "");
    assert.match(tsbuild(root, ["volume", "inspect", "data"]).stderr, /No such volume "data"/);
    assert.equal(await mountsLeft(dir), []);
  });
});

test.run();
