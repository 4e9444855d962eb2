import { execFileSync } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { withBuildRoot } from "../solver/build-fixture.js";
import { runTsbuild, type CliResult } from "./run-tsbuild.js";

/** Runs the CLI in `cwd` without the developer's SSH_AUTH_SOCK unless `env` gives one. */
function tsbuild(args: string[], cwd: string, env: Record<string, string> = {}): Promise<CliResult> {
  return runTsbuild(args, cwd, { SSH_AUTH_SOCK: undefined, ...env });
}

test("--ssh and --allow: bad values are usage errors; with them an insecure step and an ssh mount run", async () => {
  await withBuildRoot(async (root) => {
    const store = join(root.dir, "root");
    const context = join(root.dir, "ctx");
    await mkdir(context);
    await writeFile(
      join(context, "Dockerfile"),
      "FROM busybox\nRUN --security=insecure --mount=type=ssh grep CapEff /proc/self/status > /caps && test -S \"$SSH_AUTH_SOCK\" && echo ok > /ssh\n",
    );
    const keyFile = join(root.dir, "id_ed25519");
    await writeFile(keyFile, "not a socket\n");

    const noAgent = await tsbuild(["--root", store, "--ssh", "default", "."], context);
    assert.is(noAgent.status, 125, noAgent.stderr);
    assert.match(noAgent.stderr, /SSH_AUTH_SOCK is not set/);
    const key = await tsbuild(["--root", store, "--ssh", `default=${keyFile}`, "."], context);
    assert.is(key.status, 125, key.stderr);
    assert.match(key.stderr, /is not an agent socket \(key files are not supported\)/);
    const unknown = await tsbuild(["--root", store, "--allow", "security.insecur", "."], context);
    assert.is(unknown.status, 125, unknown.stderr);
    assert.match(unknown.stderr, /unknown entitlement "security\.insecur"/);
    assert.match(unknown.stderr, /security\.insecure/);

    const agent = join(root.dir, "agent.sock");
    const output = execFileSync("ssh-agent", ["-s", "-a", agent], { encoding: "utf8" });
    const pid = Number(/SSH_AGENT_PID=(\d+)/.exec(output)?.[1]);
    try {
      const denied = await tsbuild(["--root", store, "--ssh", "default", "."], context, { SSH_AUTH_SOCK: agent });
      assert.is(denied.status, 125, denied.stderr);
      assert.match(denied.stderr, /entitlement security\.insecure is not allowed/);
      assert.match(denied.stderr, /--allow security\.insecure/);

      const out = join(root.dir, "out");
      const built = await tsbuild(["--root", store, "--ssh", "default", "--allow", "network.host,security.insecure", "-o", out, "."], context, { SSH_AUTH_SOCK: agent });
      assert.is(built.status, 0, built.stderr);
      const capEff = BigInt(`0x${(await readFile(join(out, "caps"), "utf8")).split(/\s+/)[1]}`);
      assert.is(capEff & (1n << 21n), 1n << 21n, "CAP_SYS_ADMIN");
      assert.is((await readFile(join(out, "ssh"), "utf8")).trim(), "ok");
    } finally {
      if (Number.isInteger(pid)) process.kill(pid, "SIGTERM");
    }
  });
});

test.run();
