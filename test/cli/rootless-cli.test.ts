import { execFileSync } from "node:child_process";
import { mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { detectCgroupMode } from "../../executor/cgroup-mode.js";
import { listMountPoints } from "../../snapshotter/mount-table.js";
import { makeBusyboxRootfs } from "../helpers/busybox-rootfs.js";
import { builtRoot, repoRoot } from "../helpers/repo-root.js";
import { ensureTestUser, openRootlessSession, type CliResult, type RootlessSession } from "../helpers/rootless-user.js";
import { freePort, startRegistry, type TestRegistry } from "../registry/registry-fixture.js";
import { runTsbuild } from "./run-tsbuild.js";

/**
 * Rootless, through the CLI, as an ordinary user the test makes (CI runs the suite as root):
 * every fixture builds to the image id and layers a rootful build of the same fixture on the
 * same base gives (SOURCE_DATE_EPOCH fixed), and the rest of the commands work. A second
 * user without subordinate ids gets the single-id mapping. The users' processes live in
 * their namespaces and are killed by PID afterwards (rootless-user.ts).
 */

const RANGED = "tsbuild-rootless";
const REGISTRY_LOGIN = { username: "dev", password: "rootless-Secret-1" };
const SINGLE = "tsbuild-single";

const rootless = suite("rootless");

interface Context {
  session: RootlessSession;
  single: RootlessSession;
  registry: TestRegistry;
  /** The rootful root the comparisons are built in. */
  rootful: string;
  /** busybox:latest saved from the rootful root, loaded by the users. */
  baseArchive: string;
  rootOnlyArchive: string;
  secret: string;
  ownership: string;
  /** Image id, layers and manifest digest of each rootful build, by fixture. */
  expected: Map<string, string>;
}

const ctx = {} as Context;
const isRoot = process.getuid?.() === 0;

/** A Dockerfile of files that belong to users other than root, and the layer changes that are hard rootless. */
const OWNERSHIP_DOCKERFILE = `FROM busybox
RUN mkdir -p /data/old && touch /data/old/f && chown -R 1000:1000 /data
RUN rm -rf /data && mkdir -p /data/new && echo x > /data/new/g && chown 2000:3000 /data/new/g && chmod 4755 /data/new/g && ln /data/new/g /data/new/h && mkfifo /data/fifo && ln -s /nowhere /data/link && chown -h 7:8 /data/link
COPY --chown=1234:5678 Dockerfile /copied
USER 1000:1000
RUN touch /tmp/by-alice
`;

function rootful(args: string[], cwd = ctx.session.dir): Promise<CliResult> {
  return runTsbuild(["--root", ctx.rootful, ...args], cwd, { SOURCE_DATE_EPOCH: "0", DOCKER_CONFIG: join(ctx.session.dir, "root-docker") });
}

async function ok(result: Promise<CliResult> | CliResult, what: string): Promise<string> {
  const done = await result;
  assert.is(done.status, 0, `${what}: ${done.stderr}`);
  return done.stdout;
}

/** What must agree between a rootful and a rootless build: image id, diff ids, manifest digest. */
const IDENTITY_FORMAT = "{{.Id}} {{json .RootFS.Layers}} {{json .RepoDigests}}";

function identity(inspected: string): string {
  // RepoDigests name the local repository; the digest is what must agree.
  return inspected.trim().replace(/"[^"@]*@(sha256:[0-9a-f]{64})"/g, '"$1"');
}

/** `build` arguments for a fixture: a tag `<name>:1`, and what the fixture needs. */
function fixtureArgs(name: string, context: string): string[] {
  const args = ["build", "-q", "-t", `${name}:1`];
  if (name === "run-mounts") args.push("--secret", `id=token,src=${ctx.secret}`);
  return [...args, context];
}

async function fixtureNames(): Promise<string[]> {
  // onbuild-child stands on onbuild-base:1, which sorts before it.
  return (await readdir(join(repoRoot(), "fixtures"))).sort();
}

if (isRoot) {
  // uvu does not print an error of a `before` hook (its tests then count as failed): say it here.
  rootless.before(() =>
    prepare().catch((error: unknown) => {
      console.error("rootless-cli: setup failed:", error);
      throw error;
    }),
  );

  async function prepare(): Promise<void> {
    // uidmap, fuse-overlayfs, and /dev/net/tun and /dev/fuse usable by users.
    execFileSync("bash", [join(repoRoot(), "scripts", "setup.sh"), "--packages"], { stdio: "inherit" });
    const ranged = await ensureTestUser(RANGED, { subordinate: true });
    const single = await ensureTestUser(SINGLE, { subordinate: false });
    ctx.session = await openRootlessSession(ranged);
    ctx.single = await openRootlessSession(single);
    await mkdir(join(ctx.session.dir, "registry"));
    ctx.registry = await startRegistry(join(ctx.session.dir, "registry"), { htpasswd: REGISTRY_LOGIN });
    ctx.rootful = join(ctx.session.dir, "rootful");
    ctx.expected = new Map();

    const base = join(ctx.session.dir, "base");
    await makeBusyboxRootfs(join(base, "rootfs"));
    execFileSync("tar", ["--numeric-owner", "-C", join(base, "rootfs"), "-cf", join(base, "busybox.tar"), "."]);
    execFileSync("tar", ["--numeric-owner", "--owner=0", "--group=0", "-C", join(base, "rootfs"), "-cf", join(base, "busybox-root.tar"), "."]);
    // The bases are made in a root of their own and saved: the rootful and the rootless roots
    // both load those archives, so both hold the same base (the same blobs, the same manifests).
    const seed = (args: string[]) => runTsbuild(["--root", join(ctx.session.dir, "seed"), ...args], ctx.session.dir);
    await ok(seed(["import", join(base, "busybox.tar"), "busybox:latest"]), "import");
    await ok(seed(["import", join(base, "busybox-root.tar"), "busybox-root:latest"]), "import root-only");
    ctx.baseArchive = join(base, "base.tar");
    ctx.rootOnlyArchive = join(base, "base-root.tar");
    await ok(seed(["save", "-o", ctx.baseArchive, "busybox:latest"]), "save");
    await ok(seed(["save", "-o", ctx.rootOnlyArchive, "busybox-root:latest"]), "save root-only");
    await ok(rootful(["load", "-i", ctx.baseArchive]), "load");
    await ok(rootful(["load", "-i", ctx.rootOnlyArchive]), "load root-only");
    ctx.secret = join(base, "token");
    await writeFile(ctx.secret, "s3cret");
    ctx.ownership = join(base, "ownership");
    await mkdir(ctx.ownership);
    await writeFile(join(ctx.ownership, "Dockerfile"), OWNERSHIP_DOCKERFILE);
    execFileSync("chmod", ["-R", "a+rX", base]);

    for (const name of await fixtureNames()) {
      await ok(rootful(fixtureArgs(name, join(ctx.session.fixtures, name))), `rootful build of ${name}`);
      ctx.expected.set(name, identity(await ok(rootful(["inspect", "--format", IDENTITY_FORMAT, `${name}:1`]), "inspect")));
    }
    await ok(rootful(["build", "-q", "-t", "ownership:1", ctx.ownership]), "rootful build of ownership");
    ctx.expected.set("ownership", identity(await ok(rootful(["inspect", "--format", IDENTITY_FORMAT, "ownership:1"]), "inspect")));
  }

  rootless.after(async () => {
    await ctx.registry?.stop();
    await ctx.single?.close();
    await ctx.session?.close();
  });

  rootless("an ordinary user's tsbuild runs as root in a user namespace of its own, with its root and runtime state in its XDG directories", async () => {
    const { session } = ctx;
    const info = await ok(session.tsbuild(["info"]), "info");
    assert.match(info, `Root:            ${join(session.home, "data", "tsbuild")}\n`);
    assert.match(info, new RegExp(`Rootless: +yes, as uid ${session.user.uid} \\(uids 0-65536 mapped.*runtime state in ${session.runtimeDir}/tsbuild\\n`));
    assert.match(info, /Snapshotter: +(overlayfs|fuse-overlayfs) /, "the kernel's overlay in the namespace, or FUSE where it will not mount");
    assert.match(info, /Default runtime: (runc|crun)/);
    const inside = await ok(session.tsbuild(["unshare", "sh", "-c", "id -u; cat /proc/self/uid_map"]), "unshare");
    const subuid = await subordinateStart(RANGED);
    assert.match(inside, new RegExp(`^0\\n +0 +${session.user.uid} +1\\n +1 +${subuid} +65536\\n$`));
    // One pause process holds the namespace for every command.
    const pause = await readFile(join(session.runtimeDir, "tsbuild", "pause.pid"), "utf8");
    assert.match(pause, /^\d+-\d+ subordinate subordinate\n$/);
    await ok(session.tsbuild(["images"]), "images");
    assert.is(await readFile(join(session.runtimeDir, "tsbuild", "pause.pid"), "utf8"), pause);
  });

  rootless("every fixture builds rootless to the image id, layers and manifest digest of the rootful build", async () => {
    const { session } = ctx;
    assert.match(await ok(session.tsbuild(["load", "-i", ctx.baseArchive]), "load"), /Loaded image: busybox:latest/);
    for (const name of await fixtureNames()) {
      await ok(session.tsbuild(fixtureArgs(name, join(session.fixtures, name))), `rootless build of ${name}`);
      const got = identity(await ok(session.tsbuild(["inspect", "--format", IDENTITY_FORMAT, `${name}:1`]), "inspect"));
      assert.is(got, ctx.expected.get(name), name);
    }
    assert.is(await ok(session.tsbuild(["run", "--rm", "multi-stage:1"]), "run"), "HELLO FROM THE CONTEXT\nbuilt\n");
  });

  rootless("files of other owners keep their in-image ids in the layer tars, and are the user's subordinate ids on disk", async () => {
    const { session } = ctx;
    await ok(session.tsbuild(["build", "-q", "-t", "ownership:1", ctx.ownership]), "build");
    assert.is(identity(await ok(session.tsbuild(["inspect", "--format", IDENTITY_FORMAT, "ownership:1"]), "inspect")), ctx.expected.get("ownership"));
    const listing = await ok(session.tsbuild(["run", "--rm", "ownership:1", "sh", "-c", "ls -lnd /data/new/g /data/link /copied /tmp/by-alice /data/fifo"]), "run");
    assert.match(listing, /-rwsr-xr-x +2 2000 +3000 .* \/data\/new\/g\n/);
    assert.match(listing, /lrwxrwxrwx +1 7 +8 .* \/data\/link -> \/nowhere\n/);
    assert.match(listing, /prw-r--r-- .* \/data\/fifo\n/);

    // The archive's layer tars, read by GNU tar: in-image ids, the opaque directory, the hard link.
    const archive = join(session.home, "ownership.tar");
    await ok(session.tsbuild(["save", "-o", archive, "ownership:1"]), "save");
    const unpacked = join(session.dir, "ownership-archive");
    await mkdir(unpacked);
    execFileSync("tar", ["-C", unpacked, "-xf", archive]);
    const manifest = JSON.parse(await readFile(join(unpacked, "manifest.json"), "utf8")) as Array<{ Layers: string[] }>;
    const layers = manifest[0].Layers.map((layer) => execFileSync("tar", ["--numeric-owner", "-tvf", join(unpacked, layer)], { encoding: "utf8" }));
    const all = layers.join("");
    assert.match(all, /drwxr-xr-x 1000\/1000 +0 [^\n]* data\/old\/\n/);
    assert.match(all, /-rwsr-xr-x 2000\/3000 +2 [^\n]* data\/new\/g\n/);
    assert.match(all, /hrwsr-xr-x 2000\/3000 +0 [^\n]* data\/new\/h link to data\/new\/g\n/);
    assert.match(all, /lrwxrwxrwx 7\/8 +0 [^\n]* data\/link -> \/nowhere\n/);
    assert.match(all, /-rw-r--r-- 1234\/5678 +\d+ [^\n]* copied\n/);
    assert.match(all, /-rw-r--r-- 1000\/1000 +0 [^\n]* tmp\/by-alice\n/);
    assert.match(all, / data\/\.wh\.\.wh\.\.opq\n/);
    assert.not.match(all, /10\d{4}\//, "no host id of the namespace in any layer");

    // On disk the same file belongs to the host id the namespace maps 1234 to.
    const start = await subordinateStart(RANGED);
    const copies = await filesNamed(join(session.home, "data", "tsbuild", "snapshots"), "copied");
    assert.ok(copies.length > 0);
    for (const file of copies) {
      const info = await stat(file);
      assert.is(info.uid, start + 1234 - 1);
      assert.is(info.gid, (await subordinateStart(RANGED, "/etc/subgid")) + 5678 - 1);
    }
  });

  rootless("RUN mounts rootless: a cache that outlives the build, a secret, and the ssh agent", async () => {
    const { session } = ctx;
    await ok(session.tsbuild(["build", "-q", "--no-cache", "--secret", `id=token,src=${ctx.secret}`, "-t", "run-mounts:2", join(session.fixtures, "run-mounts")]), "rebuild");
    assert.is(await ok(session.tsbuild(["run", "--rm", "run-mounts:2", "cat", "/count", "/token-length"]), "run"), "2\n6\n");
    const context = join(session.home, "ssh");
    await session.run("mkdir", [context]);
    await session.run("sh", ["-c", `printf '%s\\n' 'FROM busybox' 'RUN --mount=type=ssh test -S "$SSH_AUTH_SOCK" && echo agent > /ssh.txt' > ${context}/Dockerfile`]);
    const socket = join(session.home, "agent.sock");
    const agent = await ok(session.run("ssh-agent", ["-a", socket, "-s"]), "ssh-agent");
    session.track(Number(/SSH_AGENT_PID=(\d+)/.exec(agent)?.[1]));
    await ok(session.tsbuild(["build", "-q", "--ssh", "default", "-t", "ssh:1", context], { env: { SSH_AUTH_SOCK: socket } }), "ssh build");
    assert.is(await ok(session.tsbuild(["run", "--rm", "ssh:1", "cat", "/ssh.txt"]), "run"), "agent\n");
  });

  rootless("run -d with a published port, exec, logs, diff, commit, stop and rm rootless", async () => {
    const { session } = ctx;
    const port = await freePort();
    await ok(session.tsbuild(["run", "-d", "--name", "web", "-p", `127.0.0.1:${port}:8080`, "multi-stage:1", "sh", "-c", "echo started; exec httpd -f -p 8080 -h /srv/app"]), "run -d");
    const deadline = Date.now() + 60_000;
    while (!(await ok(session.tsbuild(["logs", "web"]), "logs")).includes("started") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    assert.is(await ok(session.tsbuild(["logs", "web"]), "logs"), "started\n");
    assert.is(await httpGet(`http://127.0.0.1:${port}/shout.txt`), "HELLO FROM THE CONTEXT\nbuilt\n");
    assert.is(await ok(session.tsbuild(["exec", "-u", "0", "web", "sh", "-c", "echo hi > /hello; id -u"]), "exec"), "0\n");
    assert.is(await ok(session.tsbuild(["exec", "web", "id", "-un"]), "exec"), "alice\n");
    assert.match(await ok(session.tsbuild(["diff", "web"]), "diff"), /^A \/hello$/m);
    await ok(session.tsbuild(["commit", "web", "committed:1"]), "commit");
    await ok(session.tsbuild(["stop", "-t", "1", "web"]), "stop");
    await ok(session.tsbuild(["rm", "web"]), "rm");
    assert.is(await ok(session.tsbuild(["run", "--rm", "committed:1", "cat", "/hello"]), "run"), "hi\n");
    assert.is(await ok(session.tsbuild(["run", "--rm", "--network", "host", "committed:1", "sh", "-c", "test -d /sys/class && echo sys"]), "run --network host"), "sys\n");
  });

  rootless("login, push and pull through the loopback registry give the rootful build's digests", async () => {
    const { session, registry } = ctx;
    const login = ["login", "-u", REGISTRY_LOGIN.username, "--password-stdin", registry.domain];
    assert.is(await ok(session.tsbuild(login, { input: `${REGISTRY_LOGIN.password}\n` }), "login"), "Login Succeeded\n");
    assert.match(await readFile(join(session.home, ".docker", "config.json"), "utf8"), new RegExp(registry.domain.replace(/\./g, "\\.")));
    execFileSync(process.execPath, [join(builtRoot(), "cli", "main.js"), ...login], {
      input: `${REGISTRY_LOGIN.password}\n`,
      env: { ...process.env, DOCKER_CONFIG: join(session.dir, "root-docker") },
      stdio: ["pipe", "ignore", "inherit"],
    });
    const name = `${registry.domain}/rootless/multi-stage:1`;
    const rootfulName = `${registry.domain}/rootful/multi-stage:1`;
    await ok(session.tsbuild(["tag", "multi-stage:1", name]), "tag");
    const pushed = await ok(session.tsbuild(["push", name]), "push");
    await ok(rootful(["tag", "multi-stage:1", rootfulName]), "tag");
    const rootfulPush = await ok(rootful(["push", rootfulName]), "push");
    const digest = (text: string) => /digest: (sha256:[0-9a-f]{64})/.exec(text)?.[1];
    assert.ok(digest(pushed) !== undefined, pushed);
    assert.is(digest(pushed), digest(rootfulPush));
    const second = join(session.home, "second");
    await ok(session.tsbuild(["pull", "--root", second, name]), "pull");
    const pulled = await ok(session.tsbuild(["inspect", "--root", second, "--format", "{{.Id}}", name]), "inspect");
    assert.is(pulled.trim(), ctx.expected.get("multi-stage")!.split(" ")[0]);
  });

  rootless("save, load, prune and fsck rootless; a rootless archive loads rootful to the same image", async () => {
    const { session } = ctx;
    const archive = join(session.home, "ms.tar");
    await ok(session.tsbuild(["save", "-o", archive, "multi-stage:1"]), "save");
    await ok(session.tsbuild(["load", "-i", archive, "--root", join(session.home, "third")]), "load");
    const other = join(ctx.session.dir, "rootful-load");
    await ok(runTsbuild(["--root", other, "load", "-i", archive], session.dir), "rootful load");
    const id = await ok(runTsbuild(["--root", other, "inspect", "--format", "{{.Id}}", "multi-stage:1"], session.dir), "inspect");
    assert.is(id.trim(), ctx.expected.get("multi-stage")!.split(" ")[0]);
    await ok(session.tsbuild(["rmi", "committed:1"]), "rmi");
    assert.match(await ok(session.tsbuild(["prune", "-f"]), "prune"), /Total reclaimed space/);
    assert.match(await ok(session.tsbuild(["fsck"]), "fsck"), /no problems/);
  });

  rootless("resource limits without a delegated cgroup: the build runs and says so once", async () => {
    const { session } = ctx;
    const result = await session.tsbuild(["build", "--progress", "plain", "--no-cache", "--memory", "64m", "-t", "limits:1", join(session.fixtures, "shared-steps")]);
    assert.is(result.status, 0, result.stderr);
    const warnings = result.stderr.split("\n").filter((line) => line.startsWith("WARNING: Resource limits"));
    if ((await detectCgroupMode()) !== "v2") {
      assert.is(warnings.length, 1, result.stderr);
      assert.match(warnings[0], /not applied: running rootless, and this host's cgroups are (hybrid|v1)/);
    }
  });

  rootless("a rootful tsbuild refuses a rootless root, and the user's root is the user's own", async () => {
    const result = await runTsbuild(["--root", join(ctx.session.home, "data", "tsbuild"), "images"], ctx.session.dir);
    assert.is(result.status, 1);
    assert.match(result.stderr, new RegExp(`^error: Cannot use root ".*": it belongs to a rootless tsbuild of uid ${ctx.session.user.uid} .*, and this is a rootful tsbuild`));
    assert.is((await stat(join(ctx.session.home, "data", "tsbuild"))).uid, ctx.session.user.uid);
  });

  rootless("fuse-overlayfs as the snapshotter gives the same images", async () => {
    const { session } = ctx;
    const env = { TSBUILD_SNAPSHOTTER: "fuse-overlayfs" };
    const root = join(session.home, "fuse");
    await ok(session.tsbuild(["load", "--root", root, "-i", ctx.baseArchive], { env }), "load");
    for (const name of ["multi-stage", "features"]) {
      await ok(session.tsbuild(["build", "--root", root, "-q", "-t", `${name}:1`, join(session.fixtures, name)], { env }), `fuse build of ${name}`);
      assert.is(identity(await ok(session.tsbuild(["inspect", "--root", root, "--format", IDENTITY_FORMAT, `${name}:1`], { env }), "inspect")), ctx.expected.get(name), name);
    }
    await ok(session.tsbuild(["build", "--root", root, "-q", "-t", "ownership:1", ctx.ownership], { env }), "fuse build of ownership");
    assert.is(identity(await ok(session.tsbuild(["inspect", "--root", root, "--format", IDENTITY_FORMAT, "ownership:1"], { env }), "inspect")), ctx.expected.get("ownership"));
    const fuse = await ok(session.tsbuild(["unshare", "sh", "-c", "grep -c fuse-overlayfs /proc/self/mountinfo || true"]), "mountinfo");
    assert.is(fuse, "0\n", "no fuse-overlayfs mount outlives its command");
  });

  rootless("without subordinate ids: one id, root; root-owned images build the same, other owners fail naming /etc/subuid and /etc/subgid", async () => {
    const { single } = ctx;
    await ok(single.tsbuild(["load", "-i", ctx.rootOnlyArchive]), "load");
    await ok(single.tsbuild(["tag", "busybox-root:latest", "busybox:latest"]), "tag");
    assert.match(await ok(single.tsbuild(["info"]), "info"), /Rootless: +yes, .*one id, root: no subordinate ids/);
    const context = join(single.fixtures, "shared-steps");
    await ok(single.tsbuild(["build", "-q", "-t", "shared:1", context]), "build");
    await ok(rootful(["tag", "busybox-root:latest", "busybox:latest"]), "tag");
    await ok(rootful(["build", "-q", "-t", "shared-root:1", context]), "rootful build");
    const expected = identity(await ok(rootful(["inspect", "--format", IDENTITY_FORMAT, "shared-root:1"]), "inspect"));
    assert.is(identity(await ok(single.tsbuild(["inspect", "--format", IDENTITY_FORMAT, "shared:1"]), "inspect")), expected);
    assert.is(await ok(single.tsbuild(["run", "--rm", "shared:1", "cat", "/one.txt", "/a.txt"]), "run"), "same\na\n");

    const chown = await single.tsbuild(["build", "-q", "-t", "ms:1", join(single.fixtures, "multi-stage")]);
    assert.is(chown.status, 1);
    // Which file of app/ meets the unmapped owner first depends on the copy's order.
    assert.match(chown.stderr, /COPY --chown=alice:alice app\/ \.\/ \(Dockerfile:15\) failed: the owner of "[^"]*\/srv\/app[^"]*" is not mapped rootless: this user has no ranges in \/etc\/subuid and \/etc\/subgid\n/, chown.stderr);
    const user = await single.tsbuild(["run", "--rm", "-u", "1000", "shared:1", "id"]);
    assert.is(user.status, 125);
    assert.is(user.stderr.split("\n")[0], "error: Cannot run a process as 1000:1000 rootless: uid 1000 is not mapped, as this user has no ranges in /etc/subuid and /etc/subgid");
    const owners = await single.tsbuild(["load", "-i", ctx.baseArchive]);
    assert.is(owners.status, 1);
    assert.match(owners.stderr, /is not mapped rootless: this user has no ranges in \/etc\/subuid and \/etc\/subgid\n/);
  });

  rootless("nothing a rootless command mounted shows on the host", async () => {
    const points = [...(await listMountPoints())].filter((point) => point.startsWith(`${ctx.session.dir}/`) || point.startsWith(`${ctx.single.dir}/`));
    assert.equal(points, []);
  });
} else {
  // The suite makes users and maps their ids: only root can. CI runs as root.
  console.log("rootless-cli: not run (needs root to create its users)");
}

rootless.run();

/** The first subordinate id of `user` in `file`. */
async function subordinateStart(user: string, file = "/etc/subuid"): Promise<number> {
  const line = (await readFile(file, "utf8")).split("\n").find((l) => l.startsWith(`${user}:`));
  if (line === undefined) throw new Error(`${user} has no line in ${file}`);
  return Number(line.split(":")[1]);
}

/** Paths named `name` anywhere below `dir`. */
async function filesNamed(dir: string, name: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (current: string) => {
    for (const entry of await readdir(current, { withFileTypes: true }).catch(() => [])) {
      const path = join(current, entry.name);
      if (entry.name === name && entry.isFile()) found.push(path);
      else if (entry.isDirectory()) await walk(path);
    }
  };
  await walk(dir);
  return found;
}

/** The body of a GET, retried while the container's server comes up (bounded: 60 s). */
async function httpGet(url: string): Promise<string> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const response = await fetch(url);
      return await response.text();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}
