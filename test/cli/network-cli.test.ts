import { lookup } from "node:dns/promises";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { tsbuild, withContainerRoot, type CliOptions } from "../container/container-fixture.js";
import { OUTSIDE_GREETING, withLoopbackServer, withOutsideNetwork } from "../helpers/outside-network.js";

const HOST_GREETING = "hello from the host's loopback";

/**
 * A shell line for busybox that says what it reached at `address:port`: the greeting, or
 * `unreachable <address>` (a refused or unroutable connection fails at once, no timeout).
 */
function probe(address: string, port: number): string {
  return `(nc ${address} ${port} </dev/null || echo "unreachable ${address}")`;
}

/** Builds a Dockerfile whose one RUN is `run`, without cache, and returns the CLI's result (RUN output in stderr). */
async function buildRunning(root: string, dir: string, run: string, flags: string[], options: CliOptions = {}) {
  const context = join(dir, `ctx-${Math.random().toString(36).slice(2)}`);
  await mkdir(context);
  await writeFile(join(context, "Dockerfile"), `FROM bb:1\nRUN ${run}\n`);
  return tsbuild(root, ["build", "--no-cache", "--progress", "plain", ...flags, context], options);
}

test("a RUN step and a container on the default network cannot reach the host's 127.0.0.1; with --network=host they can", async () => {
  await withContainerRoot(async (root, dir) => {
    await withLoopbackServer(HOST_GREETING, async (port) => {
      // Its own 127.0.0.1 has nothing listening; the gateway does not lead to the host's loopback.
      const script = `${probe("127.0.0.1", port)}; ${probe("10.0.2.2", port)}`;
      const isolated = await buildRunning(root, dir, script, []);
      assert.is(isolated.status, 0, isolated.stderr);
      assert.match(isolated.stderr, "unreachable 127.0.0.1");
      assert.match(isolated.stderr, "unreachable 10.0.2.2");
      assert.not.match(isolated.stderr, HOST_GREETING);

      const host = await buildRunning(root, dir, probe("127.0.0.1", port), ["--network=host"]);
      assert.is(host.status, 0, host.stderr);
      assert.match(host.stderr, HOST_GREETING);

      const run = tsbuild(root, ["run", "--rm", "bb:1", "sh", "-c", script]);
      assert.is(run.status, 0, run.stderr);
      assert.is(run.stdout, "unreachable 127.0.0.1\nunreachable 10.0.2.2\n");
      const hostRun = tsbuild(root, ["run", "--rm", "--network=host", "bb:1", "sh", "-c", probe("127.0.0.1", port)]);
      assert.is(hostRun.stdout, `${HOST_GREETING}\n`, hostRun.stderr);
    });
  });
});

test("the default network has its own loopback and an outbound route: a RUN step and a container reach a server outside", async () => {
  await withContainerRoot(async (root, dir) => {
    await withOutsideNetwork(async (outside) => {
      const options = { prefix: outside.nsenter };
      const script = `ip -o -4 addr show | grep -o "inet [0-9./]*"; ${probe(outside.address, outside.port)}`;
      const built = await buildRunning(root, dir, script, [], options);
      assert.is(built.status, 0, built.stderr);
      assert.match(built.stderr, "inet 127.0.0.1/8");
      assert.match(built.stderr, "inet 10.0.2.100/24");
      assert.match(built.stderr, OUTSIDE_GREETING);

      const run = tsbuild(root, ["run", "--rm", "bb:1", "sh", "-c", `${probe(outside.address, outside.port)}; cat /etc/resolv.conf`], options);
      assert.is(run.status, 0, run.stderr);
      assert.match(run.stdout, new RegExp(`^${OUTSIDE_GREETING}\nnameserver 10\\.0\\.2\\.3\n`));
      const none = tsbuild(root, ["run", "--rm", "--network=none", "bb:1", "sh", "-c", probe(outside.address, outside.port)], options);
      assert.is(none.stdout, `unreachable ${outside.address}\n`, none.stderr);
    });
  });
});

test("a default-network RUN step resolves the Debian mirror's name through the sandbox's DNS", async () => {
  const name = "deb.debian.org";
  const resolvable = await lookup(name).then(
    () => true,
    () => false,
  );
  if (!resolvable) {
    console.log(`  skipped: this machine cannot resolve ${name} (no DNS to the internet), so neither can a sandbox`);
    return;
  }
  await withContainerRoot(async (root, dir) => {
    const built = await buildRunning(root, dir, `nslookup ${name} && echo resolved`, []);
    assert.is(built.status, 0, built.stderr);
    assert.match(built.stderr, "resolved");
  });
});

test.run();
