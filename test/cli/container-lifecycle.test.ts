import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { MAIN, mountsLeft, runtimeContainers, shimsOf, tsbuild, tsbuildOk, withContainerRoot } from "../container/container-fixture.js";

/** A service that says when it starts and when SIGTERM stops it. */
const SERVICE = 'trap "echo stopping; exit 0" TERM; echo started; while :; do sleep 0.1; done';

/** The STATUS column of a container in `ps -a`. */
function status(root: string, name: string): string {
  const line = tsbuildOk(root, ["ps", "-a"]).split("\n").find((l) => l.endsWith(` ${name}`)) ?? "";
  return /(Up .*?|Exited \(\w+\) .*? ago|Created)\s{3,}/.exec(line)?.[1] ?? `(no line for ${name})`;
}

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await sleep(50);
  }
}

test("a detached container outlives tsbuild; logs, exec, stop, start, restart, kill and rm -f work on it", async () => {
  await withContainerRoot(async (root, dir) => {
    const id = tsbuildOk(root, ["run", "-d", "--name", "svc", "bb:1", "sh", "-c", SERVICE]).trim();
    assert.match(id, /^[0-9a-f]{64}$/);
    assert.match(status(root, "svc"), /^Up /, "the tsbuild that started it has exited; the container runs on");
    await until("the service to start", () => tsbuildOk(root, ["logs", "svc"]) === "started\n");
    const ref = async () => JSON.parse(await readFile(join(root, "metadata", "refs", "container", `${id}.json`), "utf8")) as { labels: Record<string, string>; size?: number };
    await until("the ref to say running", async () => (await ref()).labels["tsbuild.running"] === "true");

    const exec = tsbuild(root, ["exec", "-e", "X=1", "-w", "/tmp", "svc", "sh", "-c", 'echo "$X $(pwd) $HOSTNAME"; exit 4']);
    assert.is(exec.stdout, `1 /tmp ${id.slice(0, 12)}\n`);
    assert.is(exec.status, 4);

    // logs -f follows until the container stops, and shows the output of its stop.
    const follower = spawn(process.execPath, [MAIN, "logs", "--root", root, "-f", "svc"], { stdio: ["ignore", "pipe", "pipe"] });
    let followed = "";
    follower.stdout.on("data", (chunk: Buffer) => (followed += chunk.toString()));
    const followerDone = new Promise((done) => follower.once("close", done));
    try {
      await until("logs -f to print", () => followed === "started\n");
      assert.is(tsbuildOk(root, ["stop", "svc"]), "svc\n");
      await followerDone;
      assert.is(followed, "started\nstopping\n");
    } finally {
      follower.kill("SIGKILL");
    }
    assert.match(status(root, "svc"), /^Exited \(0\) /);
    assert.is((await ref()).labels["tsbuild.running"], undefined, "a stopped container's layer is reclaimable for system df");
    assert.ok(((await ref()).size ?? 0) > 0, "the ref records the writable layer's size");
    const notRunning = tsbuild(root, ["exec", "svc", "true"]);
    assert.is(notRunning.status, 1);
    assert.match(notRunning.stderr, /Cannot exec in container "svc": it is not running/);

    assert.is(tsbuildOk(root, ["start", "svc"]), "svc\n");
    assert.match(status(root, "svc"), /^Up /);
    assert.is(tsbuildOk(root, ["restart", "-t", "5", "svc"]), "svc\n");
    await until("the third start", () => tsbuildOk(root, ["logs", "svc"]).split("started").length === 4);
    assert.is(tsbuildOk(root, ["logs", "--tail", "2", "svc"]), "stopping\nstarted\n");

    assert.is(tsbuildOk(root, ["kill", "svc"]), "svc\n");
    assert.match(status(root, "svc"), /^Exited \(137\) /);
    assert.match(tsbuild(root, ["kill", "svc"]).stderr, /Cannot kill container "svc": it is not running/);

    tsbuildOk(root, ["start", "svc"]);
    const refused = tsbuild(root, ["rm", "svc"]);
    assert.is(refused.status, 1);
    assert.match(refused.stderr, /Cannot remove container "svc": it is running/);
    assert.is(tsbuildOk(root, ["rm", "-f", "svc"]), "svc\n");
    assert.is(tsbuildOk(root, ["ps", "-aq"]), "");
    assert.equal(await runtimeContainers(root), []);
    assert.equal(shimsOf(root), []);
    assert.equal(await mountsLeft(dir), []);
  });
});

test("after SIGKILL of tsbuild and of the container's shim, ps -a still shows the true state and rm -f cleans up", async () => {
  await withContainerRoot(async (root, dir) => {
    const child = spawn(process.execPath, [MAIN, "run", "--root", root, "--name", "fg", "bb:1", "sh", "-c", "echo up; exec sleep 60"], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
    await until("the container to print", () => out === "up\n");
    child.kill("SIGKILL");
    await new Promise((done) => child.once("close", done));
    assert.match(status(root, "fg"), /^Up /, "its shim runs on without tsbuild");

    const id = tsbuildOk(root, ["ps", "-q"]).trim();
    const full = (await import("node:fs/promises")).readdir(join(root, "containers"));
    const state = JSON.parse(await readFile(join(root, "containers", (await full).find((name) => name.startsWith(id))!, "state.json"), "utf8")) as { shim: { pid: number } };
    process.kill(state.shim.pid, "SIGKILL");
    await until("the shim to die", () => !shimsOf(root).includes(state.shim.pid));
    assert.match(status(root, "fg"), /^Up /, "without its shim the container still runs, and says so");

    const [runtimeId] = await runtimeContainers(root);
    const stateDir = (await (await import("node:fs/promises")).readdir(join(root, "runtime"))).find((name) => name.startsWith("containers-"))!;
    const runtime = stateDir.endsWith("crun") ? "crun" : "runc";
    (await import("node:child_process")).spawnSync(runtime, ["--root", join(root, "runtime", stateDir), "kill", runtimeId, "KILL"]);
    await until("the container to be seen as exited", () => status(root, "fg").startsWith("Exited (unknown)"));

    assert.is(tsbuildOk(root, ["rm", "-f", "fg"]), "fg\n");
    assert.is(tsbuildOk(root, ["ps", "-aq"]), "");
    assert.equal(await runtimeContainers(root), []);
    assert.equal(await mountsLeft(dir), []);
    assert.match(tsbuildOk(root, ["rmi", "bb:1"]), /Untagged: bb:1/, "its image is free again");
  });
});

test("a run killed while it creates its container leaves one that ps -a lists and rm -f removes", async () => {
  await withContainerRoot(async (root, dir) => {
    const { readdir, access } = await import("node:fs/promises");
    const child = spawn(process.execPath, [MAIN, "run", "--root", root, "--name", "half", "-v", "/anon", "bb:1", "true"], { stdio: "ignore" });
    const closed = new Promise((done) => child.once("close", done));
    try {
      await until("the container's record", async () => {
        for (const id of await readdir(join(root, "containers")).catch(() => [] as string[])) {
          if (await access(join(root, "containers", id, "container.json")).then(() => true, () => false)) return true;
        }
        return false;
      }, 30_000);
      child.kill("SIGKILL");
      await closed;
    } finally {
      child.kill("SIGKILL");
    }
    assert.match(status(root, "half"), /^(Created|Up .*|Exited \(\w+\) .*)$/);
    assert.is(tsbuildOk(root, ["rm", "-f", "-v", "half"]), "half\n");
    assert.is(tsbuildOk(root, ["ps", "-aq"]), "");
    assert.equal(await runtimeContainers(root), []);
    assert.equal(await mountsLeft(dir), []);
    assert.match(tsbuildOk(root, ["rmi", "bb:1"]), /Untagged: bb:1/);
  });
});

test("an attached run passes tsbuild's signals to the container's process and exits with its status", async () => {
  await withContainerRoot(async (root) => {
    const script = 'trap "echo got INT; exit 5" INT; echo ready; while :; do sleep 0.1; done';
    const child = spawn(process.execPath, [MAIN, "run", "--root", root, "--rm", "bb:1", "sh", "-c", script], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
    const closed = new Promise<number | null>((done) => child.once("close", (code) => done(code)));
    try {
      await until("the container to be ready", () => out === "ready\n");
      child.kill("SIGINT");
      assert.is(await closed, 5);
      assert.is(out, "ready\ngot INT\n");
      assert.is(tsbuildOk(root, ["ps", "-aq"]), "");
    } finally {
      child.kill("SIGKILL");
    }
  });
});

test.run();
