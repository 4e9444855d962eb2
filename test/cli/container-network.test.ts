import { createSocket } from "node:dgram";
import { mkdir, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { host, tsbuild, tsbuildOk, withContainerRoot, type CliOptions } from "../container/container-fixture.js";
import { repoRoot } from "../helpers/repo-root.js";
import { withOutsideNetwork } from "../helpers/outside-network.js";

/** A server on port 80 of the container that answers each connection with one line. */
const SERVER = ["sh", "-c", "exec nc -ll -p 80 -e echo hello from the container"];
const GREETING = "hello from the container\n";

/** What a connection to 127.0.0.1:`port` of this host reads until the other side closes. */
function readFrom(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    let text = "";
    socket.on("data", (chunk: Buffer) => (text += chunk.toString("utf8")));
    socket.on("error", () => resolve(""));
    socket.on("close", () => resolve(text));
  });
}

/** Until the server in the container answers (slirp4netns accepts on the host port before it listens). */
async function untilServed(port: number): Promise<string> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const text = await readFrom(port);
    if (text !== "" || Date.now() > deadline) return text;
    await sleep(50);
  }
}

/** Until `fn` returns something other than undefined; a generous failure bound. */
async function until<T>(what: string, fn: () => T | undefined): Promise<T> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const value = fn();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await sleep(50);
  }
}

test("-p publishes a container's port on the host's 127.0.0.1: ps and port show it, the host and a second container reach it", async () => {
  await withContainerRoot(async (root) => {
    tsbuildOk(root, ["run", "-d", "--name", "web", "-p", "127.0.0.1::80", "bb:1", ...SERVER]);
    const port = tsbuildOk(root, ["port", "web"]);
    const hostPort = Number(/^80\/tcp -> 127\.0\.0\.1:(\d+)\n$/.exec(port)?.[1]);
    assert.ok(hostPort > 0, port);
    assert.is(tsbuildOk(root, ["port", "web", "80/tcp"]), `127.0.0.1:${hostPort}\n`);
    assert.match(tsbuildOk(root, ["ps"]), `127.0.0.1:${hostPort}->80/tcp`);
    const inspect = JSON.parse(tsbuildOk(root, ["inspect", "web"])) as Array<{ NetworkSettings: { Ports: Record<string, unknown> } }>;
    assert.equal(inspect[0].NetworkSettings.Ports, { "80/tcp": [{ HostIp: "127.0.0.1", HostPort: String(hostPort) }] });

    assert.is(await untilServed(hostPort), GREETING);
    const second = tsbuild(root, ["run", "--rm", "--network=host", "bb:1", "nc", "127.0.0.1", String(hostPort)]);
    assert.is(second.stdout, GREETING, second.stderr);

    tsbuildOk(root, ["stop", "-t", "1", "web"]);
    assert.is(tsbuildOk(root, ["port", "web"]), "", "a stopped container publishes nothing");
    assert.is(await readFrom(hostPort), "", "the host port is closed with the container");
  });
});

test("-P publishes the EXPOSEd ports; a second container on the default network reaches them through the host's address", async () => {
  await withContainerRoot(async (root, dir) => {
    await withOutsideNetwork(async (outside) => {
      const options: CliOptions = { prefix: outside.nsenter };
      const context = join(dir, "ctx");
      await mkdir(context);
      await writeFile(join(context, "Dockerfile"), "FROM bb:1\nEXPOSE 80/tcp\n");
      tsbuildOk(root, ["build", "-t", "web:1", context], options);
      tsbuildOk(root, ["run", "-d", "--name", "web", "-P", "web:1", ...SERVER], options);
      const port = tsbuildOk(root, ["port", "web"], options);
      const hostPort = Number(/^80\/tcp -> 0\.0\.0\.0:(\d+)\n$/.exec(port)?.[1]);
      assert.ok(hostPort > 0, port);
      const reached = await until("the second container to reach the first", () => {
        const run = tsbuild(root, ["run", "--rm", "bb:1", "nc", outside.address, String(hostPort)], options);
        return run.stdout === "" ? undefined : run.stdout;
      });
      assert.is(reached, GREETING);
    });
  });
});

/**
 * The first answer to `text` sent to 127.0.0.1:`port` from one socket, sent again each second
 * (UDP drops what arrives before the server binds) until it comes; 60 s is the failure bound.
 */
function askUdp(port: number, text: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = createSocket("udp4");
    const send = () => socket.send(text, port, "127.0.0.1");
    const again = setInterval(send, 1000);
    const bound = setTimeout(() => done(undefined), 60_000);
    let finished = false;
    const done = (answer: string | undefined) => {
      if (finished) return; // a second answer, to a datagram sent again
      finished = true;
      clearInterval(again);
      clearTimeout(bound);
      socket.close();
      resolve(answer);
    };
    socket.on("message", (message: Buffer) => done(message.toString("utf8")));
    socket.on("error", () => undefined); // a refused send before the port is forwarded: sent again
    send();
  });
}

test("-p HOST::PORT/udp and -P publish UDP: datagrams from the host reach the container's server and its answers come back", async () => {
  await withContainerRoot(async (root, dir) => {
    const context = join(dir, "udp");
    await mkdir(context);
    // busybox has no UDP server: a small static one, built here for the busybox base.
    host("cc", ["-static", "-O2", "-o", join(context, "udp-echo"), join(repoRoot(), "test", "container", "udp-echo.c")]);
    await writeFile(join(context, "Dockerfile"), 'FROM bb:1\nCOPY udp-echo /udp-echo\nEXPOSE 5353/udp\nCMD ["/udp-echo", "5353"]\n');
    tsbuildOk(root, ["build", "-t", "udp-echo:1", context]);
    for (const [name, publish] of [["explicit", ["-p", "127.0.0.1::5353/udp"]], ["exposed", ["-P"]]] as const) {
      tsbuildOk(root, ["run", "-d", "--name", name, ...publish, "udp-echo:1"]);
      const port = tsbuildOk(root, ["port", name]);
      const hostPort = Number(/^5353\/udp -> (?:127\.0\.0\.1|0\.0\.0\.0):(\d+)\n$/.exec(port)?.[1]);
      assert.ok(hostPort > 0, port);
      assert.match(tsbuildOk(root, ["ps"]), new RegExp(`:${hostPort}->5353/udp`));
      assert.is(await askUdp(hostPort, `ping-${name}`), `echo:ping-${name}`);
      tsbuildOk(root, ["rm", "-f", name]);
    }
  });
});

test("--add-host, --dns and -h shape /etc/hosts, /etc/resolv.conf and the host name; bad network flags are usage errors", async () => {
  await withContainerRoot(async (root) => {
    const run = tsbuild(root, [
      "run", "--name", "named", "-h", "box", "--add-host", "db:10.1.2.3", "--add-host", "v6:[fd00::5]", "--dns", "10.9.9.9",
      "bb:1", "sh", "-c", "hostname; grep -v localhost /etc/hosts; grep nameserver /etc/resolv.conf",
    ]);
    assert.is(run.status, 0, run.stderr);
    assert.is(run.stdout, "box\n10.1.2.3\tdb\nfd00::5\tv6\nnameserver 10.9.9.9\n");
    const inspect = JSON.parse(tsbuildOk(root, ["inspect", "named"])) as Array<{ HostConfig: { ExtraHosts: string[]; Dns: string[]; NetworkMode: string } }>;
    assert.equal(inspect[0].HostConfig.ExtraHosts, ["db:10.1.2.3", "v6:fd00::5"]);
    assert.equal(inspect[0].HostConfig.Dns, ["10.9.9.9"]);
    assert.is(inspect[0].HostConfig.NetworkMode, "default");

    const cases: Array<[string[], RegExp]> = [
      [["-p", "80", "--network", "host"], /Cannot publish ports with --network=host/],
      [["-p", "70000"], /Cannot parse port "70000": "70000" is not a port number/],
      [["-p", "1:2:3:4"], /Cannot parse port "1:2:3:4"/],
      [["--add-host", "nocolon"], /Cannot parse --add-host "nocolon"/],
      [["--dns", "resolver"], /Cannot use --dns "resolver": not an IP address/],
      [["--network", "bridge2"], /Cannot use network "bridge2": use default, host or none/],
      [["--restart", "sometimes"], /Cannot parse --restart "sometimes"/],
      [["--restart", "always", "--rm"], /Cannot use --restart with --rm/],
    ];
    for (const [flags, message] of cases) {
      const result = tsbuild(root, ["run", ...flags, "bb:1", "true"]);
      // 125: a usage error of run, as docker's.
      assert.is(result.status, 125, `${flags.join(" ")}: ${result.stderr}`);
      assert.match(result.stderr, message);
    }
  });
});

test.run();
