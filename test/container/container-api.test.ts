import { lstat, mkdir, mkdtemp, readdir, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import * as api from "../../index.js";
import { applyCommitChanges } from "../../container/apply-commit-changes.js";
import { createMountPoints } from "../../container/mount-points.js";
import { importBusybox } from "../worker/worker-fixture.js";
import { mountsLeft, runtimeContainers, withContainerRoot } from "./container-fixture.js";

test("through the API: runContainer streams output and returns the status; containerDiff, commitContainer and listContainers agree", async () => {
  await withContainerRoot(async (root, dir) => {
    const worker = await api.openWorker({ root, snapshotter: "overlayfs" });
    await importBusybox(worker, join(dir, "api"), "api:1");
    const chunks: string[] = [];
    const { record, exitCode } = await api.runContainer(worker, {
      image: "api:1",
      name: "apirun",
      command: ["sh", "-c", "echo out; echo err >&2; echo data > /data.txt; exit 2"],
      env: ["GREETING=hi"],
      attach: { onOutput: (stream, chunk) => chunks.push(`${stream}:${chunk.toString()}`) },
    });
    assert.is(exitCode, 2);
    assert.equal(chunks.sort(), ["stderr:err\n", "stdout:out\n"]);
    assert.equal(await api.containerDiff(worker, "apirun"), [{ kind: "A", path: "/data.txt" }]);

    const [listed] = await api.listContainers(worker, { all: true });
    assert.is(listed.record.id, record.id);
    assert.equal([listed.state.status, listed.state.exitCode], ["exited", 2]);
    assert.equal(await api.listContainers(worker), [], "no container runs");

    const committed = await api.commitContainer(worker, "apirun", { name: "api:2", message: "m", author: "a", changes: ["USER alice", 'ENTRYPOINT ["cat"]'] });
    const image = await api.inspectImage(worker, "api:2");
    assert.is(image.Id, committed.id);
    assert.is(image.Config!.User, "alice");
    assert.equal(image.Config!.Entrypoint, ["cat"]);
    assert.ok(image.Config!.Env?.includes("GREETING=hi"), "the container's Env is the image's");

    let out = "";
    const second = await api.runContainer(worker, { image: "api:2", command: ["/data.txt"], autoRemove: true, attach: { onOutput: (_, chunk) => (out += chunk) } });
    assert.is(second.exitCode, 0);
    assert.is(out, "data\n");

    await api.removeContainer(worker, "apirun");
    assert.equal(await api.listContainers(worker, { all: true }), []);
    assert.equal(await runtimeContainers(root), []);
    assert.equal(await mountsLeft(dir), []);
  });
});

test("applyCommitChanges applies docker's --change instructions and refuses the others", () => {
  const config = applyCommitChanges({ Env: ["PATH=/bin", "A=1"], Cmd: ["sh"] }, [
    "CMD echo $A",
    "ENV A=2 B=$A",
    "EXPOSE 80 53/udp",
    'LABEL "com.example.a"="x y"',
    "WORKDIR /srv",
    "WORKDIR app",
    "VOLUME /data",
    "STOPSIGNAL SIGINT",
  ]);
  assert.equal(config.Cmd, ["/bin/sh", "-c", "echo $A"]);
  assert.equal(config.Env, ["PATH=/bin", "A=2", "B=1"]);
  assert.equal(config.ExposedPorts, { "80/tcp": {}, "53/udp": {} });
  assert.equal(config.Labels, { "com.example.a": "x y" });
  assert.is(config.WorkingDir, "/srv/app");
  assert.equal(config.Volumes, { "/data": {} });
  assert.is(config.StopSignal, "SIGINT");
  assert.throws(() => applyCommitChanges({}, ["RUN echo hi"]), /Cannot apply change "RUN echo hi": RUN is not one of CMD/);
});

test("mount points are made inside the rootfs even when an image's absolute symlink points at a host directory", async () => {
  const dir = await mkdtemp(join(tmpdir(), "tsbuild-mountpoints-"));
  try {
    const rootfs = join(dir, "rootfs");
    const hostSide = join(dir, "host");
    await mkdir(rootfs);
    await mkdir(hostSide);
    await symlink(hostSide, join(rootfs, "etc"));
    await createMountPoints(rootfs, [{ path: "/etc/hosts", kind: "file" }, { path: "/data/deep", kind: "directory" }]);
    assert.equal(await readdir(hostSide), [], "nothing was written through the symlink");
    assert.ok((await lstat(join(rootfs, hostSide.slice(1), "hosts"))).isFile(), "the file went where the symlink leads inside the rootfs");
    assert.ok((await lstat(join(rootfs, "data", "deep"))).isDirectory());
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("resizeContainer: a detached -t container's terminal takes the new size, and its process gets SIGWINCH", async () => {
  await withContainerRoot(async (root) => {
    const worker = await api.openWorker({ root, snapshotter: "overlayfs" });
    const script = 'trap "stty size" WINCH; echo ready; while :; do sleep 0.1; done';
    await api.runContainer(worker, { image: "bb:1", name: "tty", tty: true, detach: true, command: ["sh", "-c", script] });
    const logs = async () => {
      let text = "";
      for await (const entry of api.containerLogs(worker, "tty")) text += entry.log;
      return text;
    };
    const until = async (what: string, check: (text: string) => boolean) => {
      const deadline = Date.now() + 60_000;
      while (!check(await logs())) {
        if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}: ${JSON.stringify(await logs())}`);
        await new Promise((done) => setTimeout(done, 50));
      }
    };
    await until("the shell to start", (text) => text.includes("ready"));
    await api.resizeContainer(worker, "tty", { rows: 33, cols: 101 });
    await until("the new size", (text) => text.includes("33 101"));
    await api.resizeContainer(worker, "tty", { rows: 40, cols: 120 });
    await until("the second size", (text) => text.includes("40 120"));
    await api.stopContainer(worker, "tty", { timeoutSeconds: 1 });
    const notRunning = await api.resizeContainer(worker, "tty", { rows: 1, cols: 1 }).then(() => "resized", (error: Error) => error.message);
    assert.match(notRunning, /Cannot resize container "tty": it is not running/);
  });
});

test.run();
