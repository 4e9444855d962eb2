import { execFileSync } from "node:child_process";
import { copyFile, mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { isTsbuildError } from "../../errors.js";
import { build } from "../../build/build.js";
import { withBuildRoot } from "./build-fixture.js";
import { filesContaining } from "../helpers/files-containing.js";

async function writeContext(dir: string, dockerfile: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "Dockerfile"), dockerfile);
  return dir;
}

/** A real ssh-agent on `socket` (it daemonizes once it listens); `stop` kills it by its pid. */
function startAgent(socket: string): { stop(): void } {
  const output = execFileSync("ssh-agent", ["-s", "-a", socket], { encoding: "utf8" });
  const pid = Number(/SSH_AGENT_PID=(\d+)/.exec(output)?.[1]);
  if (!Number.isInteger(pid)) throw new Error(`ssh-agent printed no pid: ${output}`);
  return {
    stop: () => {
      try {
        process.kill(pid, "SIGTERM");
      } catch {
        // already gone
      }
    },
  };
}

/** The host's ssh-add with its libraries and loader, so a busybox step can run it (`LOADER --library-path DIR ssh-add`). */
async function copySshAdd(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const binary = execFileSync("sh", ["-c", "command -v ssh-add"], { encoding: "utf8" }).trim();
  let loader = "";
  for (const line of execFileSync("ldd", [binary], { encoding: "utf8" }).split("\n")) {
    const library = /=>\s*(\/\S+)/.exec(line)?.[1];
    if (library !== undefined) await copyFile(library, join(dir, basename(library)));
    const start = /^\s*(\/\S+)\s+\(/.exec(line)?.[1];
    if (start !== undefined) {
      loader = basename(start);
      await copyFile(start, join(dir, loader));
    }
  }
  await copyFile(binary, join(dir, "ssh-add"));
  return `/tools/${loader} --library-path /tools /tools/ssh-add`;
}

test("RUN --mount=type=ssh reaches the host's ssh agent through a socket that lands in no layer, key or record", async () => {
  await withBuildRoot(async (root) => {
    const agents: Array<{ stop(): void }> = [];
    try {
      const socket = join(root.dir, "agent.sock");
      agents.push(startAgent(socket));
      const key = join(root.dir, "id_ed25519");
      execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "tsbuild-test", "-f", key]);
      execFileSync("ssh-add", ["-q", key], { env: { ...process.env, SSH_AUTH_SOCK: socket }, stdio: "ignore" });
      const fingerprint = execFileSync("ssh-keygen", ["-lf", `${key}.pub`], { encoding: "utf8" }).split(" ")[1];

      const context = join(root.dir, "ctx");
      const sshAdd = await copySshAdd(join(context, "tools"));
      await writeContext(
        context,
        [
          "FROM busybox",
          `RUN --mount=type=ssh --mount=type=bind,source=tools,target=/tools test -S "$SSH_AUTH_SOCK" && echo "$SSH_AUTH_SOCK" > /sock-path && ${sshAdd} -l > /identities`,
          "USER alice",
          `RUN --mount=type=ssh,id=deploy,uid=1000,mode=0600,target=/home/alice/agent --mount=type=bind,source=tools,target=/tools stat -c %u:%a /home/alice/agent > /home/alice/owner && SSH_AUTH_SOCK=/home/alice/agent ${sshAdd} -l > /home/alice/identities`,
          "RUN --mount=type=ssh,id=absent test ! -e /run/buildkit/ssh_agent.0 && echo \"$SSH_AUTH_SOCK\" > /home/alice/skipped",
          "",
        ].join("\n"),
      );
      const out = join(root.dir, "out");
      const options = { context, worker: root.worker, tags: ["ssh:1"], ssh: { default: { socket }, deploy: { socket } } };
      await build({ ...options, output: { type: "local", dest: out } });

      assert.is((await readFile(join(out, "sock-path"), "utf8")).trim(), "/run/buildkit/ssh_agent.0");
      assert.match(await readFile(join(out, "identities"), "utf8"), fingerprint, "ssh-add in the step listed the host agent's key");
      assert.is((await readFile(join(out, "home/alice/owner"), "utf8")).trim(), "1000:600", "the socket belongs to uid= with mode=");
      assert.match(await readFile(join(out, "home/alice/identities"), "utf8"), fingerprint);
      assert.is((await readFile(join(out, "home/alice/skipped"), "utf8")).trim(), "/run/buildkit/ssh_agent.0", "an optional ssh id not given is skipped");
      assert.not.ok((await readdir(out)).includes("run"), "no mount point of the socket is left in the image");
      assert.equal(await filesContaining(join(root.dir, "root"), socket), [], "no blob, record or snapshot names the agent's socket");

      // Only the ids are in the cache keys: another agent for the same ids is a fully cached build.
      const other = join(root.dir, "other.sock");
      agents.push(startAgent(other));
      const runs = root.runs();
      const again = await build({ ...options, ssh: { default: { socket: other }, deploy: { socket: other } } });
      assert.is(root.runs(), runs);
      assert.ok(again.steps.every((step) => step.status === "cached"), again.steps.map((s) => `${s.name}: ${s.status}`).join("\n"));
    } finally {
      for (const agent of agents) agent.stop();
    }
  });
});

test("a required ssh mount whose id was not given fails its step, naming the id and the flag", async () => {
  await withBuildRoot(async (root) => {
    const context = await writeContext(join(root.dir, "ctx"), "FROM busybox\nRUN --mount=type=ssh,id=deploy,required=true true\n");
    try {
      await build({ context, worker: root.worker });
      assert.unreachable("the build should fail");
    } catch (error) {
      const cause = (error as Error).cause as { message?: string; hint?: string } | undefined;
      assert.match(`${(error as Error).message} ${cause?.message}`, /ssh agent "deploy": no ssh agent with this id was given/);
      assert.match(String(cause?.hint), /--ssh deploy=SOCKET/);
    }
  });
});

test("RUN --security=insecure needs --allow security.insecure, and then has every capability and a writable /sys", async () => {
  await withBuildRoot(async (root) => {
    const context = await writeContext(
      join(root.dir, "ctx"),
      [
        "FROM busybox",
        "RUN grep CapEff /proc/self/status > /sandbox-caps && grep ' /sys ' /proc/mounts > /sandbox-sys",
        "RUN --security=insecure grep CapEff /proc/self/status > /insecure-caps && grep ' /sys ' /proc/mounts > /insecure-sys && mkdir /m && mount -t tmpfs tmpfs /m && echo mounted > /m/f && cat /m/f > /tmpfs && umount /m",
        "",
      ].join("\n"),
    );
    try {
      await build({ context, worker: root.worker });
      assert.unreachable("the build should fail without the entitlement");
    } catch (error) {
      assert.ok(isTsbuildError(error, "USAGE"), String(error));
      assert.match((error as Error).message, /security\.insecure is not allowed/);
      assert.match((error as Error).message, /RUN --security=insecure/);
      assert.match(String((error as { hint?: string }).hint), /--allow security\.insecure/);
    }
    assert.is(root.runs(), 0, "nothing ran");

    const out = join(root.dir, "out");
    await build({ context, worker: root.worker, allow: ["security.insecure"], output: { type: "local", dest: out } });
    const capEff = async (file: string) => BigInt(`0x${(await readFile(join(out, file), "utf8")).split(/\s+/)[1]}`);
    const SYS_ADMIN = 1n << 21n;
    assert.is((await capEff("sandbox-caps")) & SYS_ADMIN, 0n, "a sandboxed step lacks CAP_SYS_ADMIN");
    assert.is((await capEff("insecure-caps")) & SYS_ADMIN, SYS_ADMIN, "an insecure step has CAP_SYS_ADMIN");
    assert.is((await readFile(join(out, "tmpfs"), "utf8")).trim(), "mounted");
    assert.match(await readFile(join(out, "sandbox-sys"), "utf8"), / ro[, ]/);
    assert.match(await readFile(join(out, "insecure-sys"), "utf8"), / rw[, ]/);
  });
});

test("a cache mount from= a stage starts as that stage's directory, keeps what RUN wrote, and an unused stage is not built", async () => {
  await withBuildRoot(async (root) => {
    const context = await writeContext(
      join(root.dir, "ctx"),
      [
        "FROM busybox AS seed",
        "RUN mkdir -p /data/sub && echo seeded > /data/a.txt && echo deep > /data/sub/b.txt && chown 1000:1000 /data && chmod 0750 /data",
        "FROM busybox AS unused",
        "RUN echo unused > /unused",
        "FROM busybox AS final",
        "RUN --mount=type=cache,from=seed,source=/data,target=/cache,id=seeded cat /cache/a.txt /cache/sub/b.txt > /seen && stat -c %u:%a /cache > /owner && echo run >> /cache/runs && wc -l < /cache/runs > /count",
        "RUN --mount=type=cache,target=/owned,uid=1000,gid=1000,mode=0700 stat -c %u:%g:%a /owned > /owned-perm",
        "",
      ].join("\n"),
    );
    const out1 = join(root.dir, "out1");
    const first = await build({ context, worker: root.worker, output: { type: "local", dest: out1 } });
    assert.is(await readFile(join(out1, "seen"), "utf8"), "seeded\ndeep\n");
    assert.is((await readFile(join(out1, "owner"), "utf8")).trim(), "1000:750", "the cache directory has the seed's owner and mode");
    assert.is((await readFile(join(out1, "count"), "utf8")).trim(), "1");
    assert.is((await readFile(join(out1, "owned-perm"), "utf8")).trim(), "1000:1000:700");
    assert.not.ok((await readdir(out1)).includes("cache") && (await readdir(join(out1, "cache"))).length > 0, "the cache's files are not in the image");
    assert.not.ok(first.steps.some((step) => step.name.includes("unused")), first.steps.map((s) => s.name).join("\n"));
    assert.is(root.runs(), 3, "the seed stage's RUN and the two final ones");

    const out2 = join(root.dir, "out2");
    await build({ context, worker: root.worker, noCache: ["final"], output: { type: "local", dest: out2 } });
    assert.is((await readFile(join(out2, "count"), "utf8")).trim(), "2", "the second run found the first run's file");
    assert.is(await readFile(join(out2, "seen"), "utf8"), "seeded\ndeep\n");
  });
});

test.run();
