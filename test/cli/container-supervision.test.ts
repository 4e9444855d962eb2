import { execFileSync, spawn } from "node:child_process";
import { readFileSync, readlinkSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { MAIN, mountsLeft, shimsOf, tsbuild, tsbuildOk, withContainerRoot } from "../container/container-fixture.js";

/** Until `check` holds; a generous failure bound, never a pace. */
async function until(what: string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await sleep(50);
  }
}

function inspect(root: string, name: string): { State: { Status: string; Restarting: boolean; Health?: { Status: string; FailingStreak: number; Log: Array<{ ExitCode: number; Output: string }> } }; RestartCount: number; Name: string } {
  return (JSON.parse(tsbuildOk(root, ["inspect", name])) as Array<ReturnType<typeof inspect>>)[0];
}

/** The STATUS column of `name` in `ps -a`. */
function status(root: string, name: string): string {
  const line = tsbuildOk(root, ["ps", "-a"]).split("\n").find((l) => l.endsWith(` ${name}`)) ?? "";
  return /((?:Up|Exited|Restarting) .*?|Created)\s{3,}/.exec(line)?.[1] ?? `(no line for ${name})`;
}

async function buildImage(root: string, dir: string, name: string, dockerfile: string): Promise<void> {
  const context = join(dir, `ctx-${name.replace(/\W/g, "-")}`);
  await mkdir(context);
  await writeFile(join(context, "Dockerfile"), dockerfile);
  tsbuildOk(root, ["build", "-t", name, context]);
}

test("--restart on-failure:2 restarts a failing process twice, then wait prints its exit code", async () => {
  await withContainerRoot(async (root, dir) => {
    tsbuildOk(root, ["run", "-d", "--name", "flaky", "--restart", "on-failure:2", "bb:1", "sh", "-c", "echo run; exit 3"]);
    assert.is(tsbuildOk(root, ["wait", "flaky"]), "3\n");
    assert.is(tsbuildOk(root, ["logs", "flaky"]), "run\nrun\nrun\n");
    const state = inspect(root, "flaky");
    assert.is(state.RestartCount, 2);
    assert.is(state.State.Status, "exited");
    assert.match(status(root, "flaky"), /^Exited \(3\) /);
    assert.equal(await mountsLeft(join(root, "containers")), [], "a stopped container holds no mount");
    const file = join(dir, "copied.txt");
    await writeFile(file, "copied\n");
    tsbuildOk(root, ["cp", file, "flaky:/copied.txt"]);
    assert.equal(await mountsLeft(join(root, "containers")), [], "cp mounts a stopped container's rootfs only while it copies");
    assert.match(tsbuildOk(root, ["diff", "flaky"]), /^A \/copied\.txt$/m);

    // Attached: tsbuild returns with the first exit; the shim restarts the process on its own.
    const attached = tsbuild(root, ["run", "--name", "once", "--restart", "on-failure:1", "bb:1", "sh", "-c", "echo try; exit 5"]);
    assert.is(attached.status, 5, attached.stderr);
    assert.is(tsbuildOk(root, ["wait", "once"]), "5\n");
    assert.is(inspect(root, "once").RestartCount, 1);
    assert.is(tsbuildOk(root, ["logs", "once"]), "try\ntry\n");
  });
});

test("--restart always restarts an exiting process until stop; stop ends its shim, so it stays stopped", async () => {
  await withContainerRoot(async (root) => {
    tsbuildOk(root, ["run", "-d", "--name", "loop", "--restart", "always", "bb:1", "sh", "-c", "echo run; exit 0"]);
    await until("three runs", () => tsbuildOk(root, ["logs", "loop"]).split("run").length > 3);
    assert.is(tsbuildOk(root, ["stop", "loop"]), "loop\n");
    // Its shim ends (it writes the exit just before): nothing is left that could start it again.
    await until("its shim to end", () => shimsOf(root).length === 0);
    assert.match(status(root, "loop"), /^Exited \(\d+\) /);
    assert.is(inspect(root, "loop").State.Restarting, false);

    // A SIGHUP that ends the process (a reload gone wrong) is no stop: it is restarted. SIGKILL is a stop.
    const service = 'trap "exit 1" HUP; echo up; while :; do sleep 0.1; done';
    tsbuildOk(root, ["run", "-d", "--name", "svc", "--restart", "unless-stopped", "bb:1", "sh", "-c", service]);
    await until("the service", () => tsbuildOk(root, ["logs", "svc"]) === "up\n");
    tsbuildOk(root, ["kill", "-s", "HUP", "svc"]);
    await until("the restart after SIGHUP", () => tsbuildOk(root, ["logs", "svc"]) === "up\nup\n");
    tsbuildOk(root, ["kill", "svc"]);
    await until("its shim to end", () => shimsOf(root).length === 0);
    assert.match(status(root, "svc"), /^Exited \(137\) /);
    assert.is(inspect(root, "svc").RestartCount, 1);
  });
});

test("wait blocks until a running container stops; attach shows its output until then and exits with its status", async () => {
  await withContainerRoot(async (root) => {
    tsbuildOk(root, ["run", "-d", "--name", "svc", "bb:1", "sh", "-c", 'trap "echo bye; exit 7" TERM; while :; do echo tick; sleep 0.1; done']);
    const started = (args: string[]) => {
      const child = spawn(process.execPath, [MAIN, args[0], "--root", root, ...args.slice(1)], { stdio: ["ignore", "pipe", "pipe"] });
      const out = { stdout: "", stderr: "", status: undefined as number | null | undefined };
      child.stdout.on("data", (chunk: Buffer) => (out.stdout += chunk.toString()));
      child.stderr.on("data", (chunk: Buffer) => (out.stderr += chunk.toString()));
      const done = new Promise<void>((resolve) => child.once("close", (code) => ((out.status = code), resolve())));
      return { child, out, done };
    };
    const waiter = started(["wait", "svc"]);
    const attacher = started(["attach", "svc"]);
    try {
      await until("attach to show the output", () => attacher.out.stdout.includes("tick\n"));
      assert.is(waiter.out.status, undefined, "wait is still waiting");
      tsbuildOk(root, ["stop", "svc"]);
      await Promise.all([waiter.done, attacher.done]);
      assert.is(waiter.out.stdout, "7\n", waiter.out.stderr);
      assert.is(attacher.out.status, 7, attacher.out.stderr);
      assert.match(attacher.out.stdout, /tick\nbye\n$/);
    } finally {
      waiter.child.kill("SIGKILL");
      attacher.child.kill("SIGKILL");
    }
    const notRunning = tsbuild(root, ["attach", "svc"]);
    assert.is(notRunning.status, 1);
    assert.match(notRunning.stderr, /Cannot attach to container "svc": it is not running/);
  });
});

test("rename gives a running container a new unique name", async () => {
  await withContainerRoot(async (root) => {
    tsbuildOk(root, ["run", "-d", "--name", "first", "bb:1", "sleep", "1000"]);
    tsbuildOk(root, ["run", "--name", "second", "bb:1", "true"]);
    tsbuildOk(root, ["rename", "first", "third"]);
    assert.is(inspect(root, "third").Name, "/third");
    const taken = tsbuild(root, ["rename", "third", "second"]);
    assert.is(taken.status, 1);
    assert.match(taken.stderr, /Cannot rename container "third" to "second": the name is in use/);
    const bad = tsbuild(root, ["rename", "third", "no/slash"]);
    assert.match(bad.stderr, /Invalid container name "no\/slash"/);
    assert.match(tsbuild(root, ["inspect", "first"]).stderr, /No such/, "the old name is free");
    assert.is(tsbuildOk(root, ["kill", "third"]), "third\n");
    tsbuildOk(root, ["rename", "third", "first"]);
    assert.match(status(root, "first"), /^Exited \(137\) /);
  });
});

test("HEALTHCHECK runs from the shim: starting, unhealthy after its retries, healthy once the check passes; a probe past its timeout fails", async () => {
  await withContainerRoot(async (root, dir) => {
    await buildImage(root, dir, "hc:1", "FROM bb:1\nHEALTHCHECK --interval=1s --retries=2 CMD test -e /tmp/healthy\n");
    await buildImage(root, dir, "slow:1", "FROM bb:1\nHEALTHCHECK --interval=1h CMD true\n");
    await buildImage(root, dir, "hang:1", "FROM bb:1\nHEALTHCHECK --interval=1s --timeout=1s --retries=1 CMD sleep 60\n");
    tsbuildOk(root, ["run", "-d", "--name", "slow", "slow:1", "sleep", "1000"]);
    assert.match(status(root, "slow"), /^Up .* \(health: starting\)$/);

    tsbuildOk(root, ["run", "-d", "--name", "hc", "hc:1", "sleep", "1000"]);
    tsbuildOk(root, ["run", "-d", "--name", "hang", "hang:1", "sleep", "1000"]);
    await until("unhealthy", () => status(root, "hc").endsWith("(unhealthy)"));
    let health = inspect(root, "hc").State.Health!;
    assert.is(health.Status, "unhealthy");
    assert.ok(health.FailingStreak >= 2, "two failures in a row (or more, by the time inspect reads it)");
    assert.equal(new Set(health.Log.map((result) => result.ExitCode)), new Set([1]));

    tsbuildOk(root, ["exec", "hc", "touch", "/tmp/healthy"]);
    await until("healthy", () => status(root, "hc").endsWith("(healthy)"));
    health = inspect(root, "hc").State.Health!;
    assert.is(health.FailingStreak, 0);
    assert.is(health.Log[health.Log.length - 1].ExitCode, 0);

    await until("the hanging check to be unhealthy", () => status(root, "hang").endsWith("(unhealthy)"));
    assert.equal(inspect(root, "hang").State.Health!.Log[0], { ...inspect(root, "hang").State.Health!.Log[0], ExitCode: -1, Output: "Health check exceeded timeout (1s)" });
  });
});

test("commit --pause of a running container keeps what it wrote and leaves it running", async () => {
  await withContainerRoot(async (root) => {
    tsbuildOk(root, ["run", "-d", "--name", "svc", "bb:1", "sh", "-c", "echo kept > /data; echo written; exec sleep 1000"]);
    await until("the file", () => tsbuildOk(root, ["logs", "svc"]) === "written\n");
    for (const pause of ["true", "false"]) {
      tsbuildOk(root, ["commit", "--pause", pause, "svc", `snap:${pause}`]);
      assert.is(tsbuildOk(root, ["run", "--rm", `snap:${pause}`, "cat", "/data"]), "kept\n");
    }
    assert.match(status(root, "svc"), /^Up /, "resumed after the commit");
    assert.is(tsbuildOk(root, ["exec", "svc", "echo", "alive"]), "alive\n");
  });
});

test("an attached -t container follows the size of tsbuild's terminal: SIGWINCH goes through the shim to the runtime", async () => {
  await withContainerRoot(async (root) => {
    const shell = 'trap "stty size" WINCH; echo ready; while :; do sleep 0.1; done';
    const command = [process.execPath, MAIN, "run", "--root", root, "-t", "--name", "term", "bb:1", "sh", "-c", shell].map((word) => `'${word.replace(/'/g, "'\\''")}'`).join(" ");
    // util-linux script gives tsbuild a terminal of its own, whose size the test then changes.
    const terminal = spawn("script", ["-qfec", command, "/dev/null"], { stdio: ["pipe", "pipe", "pipe"] });
    let output = "";
    terminal.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const closed = new Promise((done) => terminal.once("close", done));
    try {
      await until("the shell to start", () => output.includes("ready"));
      const cli = readFileSync(`/proc/${terminal.pid}/task/${terminal.pid}/children`, "utf8").trim().split(/\s+/)[0];
      const pty = readlinkSync(`/proc/${cli}/fd/0`);
      assert.match(pty, /^\/dev\/pts\/\d+$/);
      execFileSync("stty", ["-F", pty, "rows", "33", "cols", "101"]);
      await until("the container's terminal to take the size", () => output.includes("33 101"));
      tsbuildOk(root, ["kill", "term"]);
      await closed;
    } finally {
      terminal.kill("SIGKILL");
    }
  });
});

test.run();
