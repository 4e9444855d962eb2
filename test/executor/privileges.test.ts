import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rm } from "node:fs/promises";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { prepareRunMounts } from "../../executor/run-mounts.js";
import { RUNTIMES, runScript, withSandbox } from "./sandbox-fixture.js";

/** A real ssh-agent on `socket` (it daemonizes once it listens); the returned function kills it by its pid. */
function startAgent(socket: string): () => void {
  const output = execFileSync("ssh-agent", ["-s", "-a", socket], { encoding: "utf8" });
  const pid = Number(/SSH_AGENT_PID=(\d+)/.exec(output)?.[1]);
  if (!Number.isInteger(pid)) throw new Error(`ssh-agent printed no pid: ${output}`);
  return () => {
    try {
      process.kill(pid, "SIGTERM");
    } catch {
      // already gone
    }
  };
}

/** Sends SSH2_AGENTC_REQUEST_IDENTITIES (11) to `socket` and returns the answer's message type. */
function requestIdentities(socket: string): Promise<number> {
  return new Promise((done, fail) => {
    const connection = createConnection(socket);
    let data = Buffer.alloc(0);
    connection.on("error", fail);
    connection.on("data", (chunk) => {
      data = Buffer.concat([data, chunk]);
      if (data.length >= 4 && data.length >= 4 + data.readUInt32BE(0)) {
        connection.destroy();
        done(data[4]);
      }
    });
    connection.write(Buffer.from([0, 0, 0, 1, 11]));
  });
}

for (const runtime of RUNTIMES) {
  test(`${runtime}: an ssh mount is a socket owned as asked, gone from the rootfs afterwards`, async () => {
    await withSandbox(runtime, async (sandbox) => {
      const socket = join(sandbox.dir, "agent.sock");
      const stop = startAgent(socket);
      try {
        const out = await runScript(
          sandbox,
          "test -S /run/buildkit/ssh_agent.0 && stat -c %u:%g:%a /run/buildkit/ssh_agent.0",
          { mounts: [{ type: "ssh", id: "default", target: "/run/buildkit/ssh_agent.0", uid: 1000, gid: 1001, mode: 0o660 }] },
          { ssh: { default: { socket } } },
        );
        assert.is(out.stdout.trim(), "1000:1001:660");
        assert.not.ok((await readdir(sandbox.rootfs)).includes("run"));
      } finally {
        stop();
      }
    });
  });

  test(`${runtime}: an insecure process has CAP_SYS_ADMIN, can mount, and sees no masked paths`, async () => {
    await withSandbox(runtime, async (sandbox) => {
      const script = "grep CapEff /proc/self/status; mkdir -p /m && mount -t tmpfs tmpfs /m && umount /m && echo mounted; head -c 1 /proc/timer_list | wc -c";
      const insecure = await runScript(sandbox, script, { security: "insecure" });
      const sandboxed = await runScript(sandbox, script);
      const capEff = (text: string) => BigInt(`0x${/CapEff:\s*([0-9a-f]+)/.exec(text)![1]}`);
      assert.is(capEff(insecure.stdout) & (1n << 21n), 1n << 21n);
      assert.is(capEff(sandboxed.stdout) & (1n << 21n), 0n);
      assert.match(insecure.stdout, /mounted/);
      assert.not.match(sandboxed.stdout, /mounted/);
      assert.is(insecure.stdout.trim().split("\n").at(-1), "1", "/proc/timer_list is readable, not masked");
      assert.is(sandboxed.stdout.trim().split("\n").at(-1), "0");
    });
  });
}

test("an ssh proxy whose scratch path is too long for a socket listens in a temp dir and reaches the agent", async () => {
  const dir = await mkdtemp(join(tmpdir(), "tsbuild-ssh-test-"));
  const stop = startAgent(join(dir, "agent.sock"));
  try {
    const scratchDir = join(dir, "s".repeat(100));
    await mkdir(scratchDir);
    const prepared = await prepareRunMounts([{ type: "ssh", id: "default", target: "/run/agent" }], {
      scratchDir,
      privateDir: join(scratchDir, "private"),
      privateFiles: [],
      cacheMountRoot: join(dir, "cache"),
      ssh: { default: { socket: join(dir, "agent.sock") } },
    });
    try {
      const source = prepared.mounts[0].source!;
      assert.ok(source.length <= 100 && !source.startsWith(scratchDir), source);
      assert.is(await requestIdentities(source), 12, "SSH2_AGENT_IDENTITIES_ANSWER from the real agent");
    } finally {
      await prepared.release();
    }
    assert.not.ok(existsSync(dirname(prepared.mounts[0].source!)), "the temp dir is gone");
  } finally {
    stop();
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
