import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { tsbuild, withContainerRoot } from "../container/container-fixture.js";

// README.md's "Exit codes" table, status by status, as a script would meet them.
test("exit statuses are docker's: 1 failures, 125 usage and run's own failures, 126/127 commands, else the container's", async () => {
  await withContainerRoot(async (root, dir) => {
    const status = (args: string[]) => tsbuild(root, args).status;
    assert.is(status(["images"]), 0);
    assert.is(status(["run", "--rm", "bb:1", "sh", "-c", "exit 42"]), 42, "the container's own status");
    assert.is(status(["run", "--rm", "bb:1", "no-such-command"]), 127);
    assert.is(status(["run", "--rm", "bb:1", "/etc/passwd"]), 126, "a file that is not executable");
    assert.is(status(["run", "--rm", "no-such-image:1", "true"]), 125, "run itself failed");
    assert.is(status(["run", "--no-such-flag", "bb:1"]), 125);
    assert.is(status(["images", "--no-such-flag"]), 125);
    assert.is(status(["no-such-command"]), 125);
    assert.is(status(["tag", "only-one-argument"]), 125);
    assert.is(status(["rmi", "no-such-image:1"]), 1);
    assert.is(status(["inspect", "no-such-thing"]), 1);

    const ctx = join(dir, "ctx");
    await mkdir(ctx);
    await writeFile(join(ctx, "Dockerfile"), "FROM bb:1\nRUN exit 7\n");
    assert.is(status(["build", ctx]), 1, "a failed build exits 1, whatever its step's status");
    await writeFile(join(ctx, "Dockerfile"), "FROM bb:1\nCMD [\"a\", 1]\n");
    assert.is(status(["build", ctx]), 1, "a Dockerfile that does not parse");
    assert.is(status(["build", join(dir, "no-such-context")]), 1, "a context that is not there, as docker");
  });
});

test.run();
