import { createServer, type AddressInfo } from "node:net";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { RUNTIMES, runScript, withSandbox } from "./sandbox-fixture.js";

for (const runtime of RUNTIMES) {
  test(`${runtime}: the default network is a namespace of its own behind slirp4netns, with no way to the host's loopback`, async () => {
    const server = createServer((connection) => connection.end("host loopback\n"));
    await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
    const port = (server.address() as AddressInfo).port;
    try {
      await withSandbox(runtime, async (sandbox) => {
        const probe = (address: string) => `(nc ${address} ${port} </dev/null || echo "unreachable ${address}")`;
        const script = `ip -o -4 addr show | grep -o "inet [0-9./]*"; ip route | grep default; cat /etc/resolv.conf | grep nameserver; ${probe("127.0.0.1")}; ${probe("10.0.2.2")}`;
        const { stdout } = await runScript(sandbox, script);
        assert.is(
          stdout,
          "inet 127.0.0.1/8\ninet 10.0.2.100/24\ndefault via 10.0.2.2 dev tap0 \nnameserver 10.0.2.3\nunreachable 127.0.0.1\nunreachable 10.0.2.2\n",
        );
        const host = await runScript(sandbox, probe("127.0.0.1"), { network: "host" });
        assert.is(host.stdout, "host loopback\n");
      });
    } finally {
      await new Promise((done) => server.close(done));
    }
  });
}

test.run();
