// Ported from moby/buildkit frontend/dockerfile/dockerfile_core_test.go (73ed6825).
// docker.io's busybox has a wheel group (10, with root in it) and a daemon user; our base
// gets docker.io's /etc/passwd and /etc/group where a test counts on them.
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import * as assert from "uvu/assert";
import { tarOf } from "../helpers/tar-of.js";
import { buildError, buildImage, buildLocal, makeContext, portedSuite } from "./ported.js";

const { test, root } = portedSuite("BuildKit dockerfile_core_test.go");

/** docker.io busybox's /etc/passwd and /etc/group (our base has other users at 1000 and 1001). */
const DOCKER_BUSYBOX_GROUPS = [
  "RUN printf 'root:x:0:0:root:/root:/bin/sh\\ndaemon:x:1:1:daemon:/usr/sbin:/bin/false\\nnobody:x:65534:65534:nobody:/home:/bin/false\\n' > /etc/passwd",
  "RUN printf 'root:x:0:\\ndaemon:x:1:\\nwheel:x:10:root\\nnogroup:x:65534:\\n' > /etc/group",
].join("\n");

test("testDockerfileDirs: the Dockerfile may live outside the context", async () => {
  const dockerfile = "FROM busybox\nCOPY foo /foo2\nCOPY foo /\nRUN echo -n bar > foo3\nRUN test -f foo\nRUN cmp -s foo foo2\nRUN cmp -s foo foo3\n";
  await buildImage(root(), { Dockerfile: dockerfile, foo: "bar" });
  const dockerfileDir = await makeContext(root(), { Dockerfile: dockerfile });
  const context = await makeContext(root(), { foo: "bar" });
  await buildImage(root(), context, { dockerfile: join(dockerfileDir, "Dockerfile") });
});

test("testSymlinkedDockerfile: Dockerfile may be a symlink", async () => {
  await buildImage(root(), { "Dockerfile.web": "FROM scratch\nENV foo bar\n", Dockerfile: { symlink: "Dockerfile.web" } });
});

test("testSymlinkDestination: COPY into a symlink that ADD unpacked, pointing up, lands where the link points inside the image", async () => {
  const archive = tarOf([{ path: "symlink", type: "symlink", linkpath: "../tmp/symlink-target", mode: 0o755 }]);
  const { out } = await buildLocal(root(), { Dockerfile: "FROM scratch\nADD t.tar /\nCOPY foo /symlink/\n", foo: "content0", "t.tar": archive });
  assert.is(await readFile(join(out, "tmp/symlink-target/foo"), "utf8"), "content0");
});

test("testContextChangeDirToFile: a context path that turns from a directory into a file", async () => {
  const context = await makeContext(root(), { Dockerfile: "FROM scratch\nCOPY foo /\n", "foo/bar": "contents" });
  await buildImage(root(), context);
  await rm(join(context, "foo"), { recursive: true });
  await writeFile(join(context, "foo"), "contents2");
  const { out } = await buildLocal(root(), context);
  assert.is(await readFile(join(out, "foo"), "utf8"), "contents2");
});

test("testNoSnapshotLeak: building the same thing again leaves no more snapshots", async () => {
  const context = await makeContext(root(), { Dockerfile: "FROM scratch\nCOPY foo /\n", foo: "contents" });
  await buildImage(root(), context);
  const snapshots = () => readdir(join(root().dir, "root", "snapshots"));
  const before = (await snapshots()).length;
  await buildImage(root(), context);
  assert.is((await snapshots()).length, before);
});

test("testExposeExpansion: EXPOSE expands an ARG into several ports", async () => {
  const result = await buildImage(root(), { Dockerfile: 'FROM scratch\nARG PORTS="3000 4000/udp"\nEXPOSE $PORTS\nEXPOSE 5000\n' });
  assert.equal(Object.keys(result.config.config?.ExposedPorts ?? {}).sort(), ["3000/tcp", "4000/udp", "5000/tcp"]);
});

test("testDockerfileLowercase: a context with only a lowercase dockerfile builds", async () => {
  await buildImage(root(), { dockerfile: "FROM scratch\n" });
});

test("testLabels: LABEL and --label both end up in the config", async () => {
  const result = await buildImage(root(), { Dockerfile: "FROM scratch\nLABEL foo=bar\n" }, { labels: { bar: "baz" } });
  assert.is(result.config.config?.Labels?.foo, "bar");
  assert.is(result.config.config?.Labels?.bar, "baz");
});

test("testUser: USER by name, id, name:group and id:gid, with supplementary groups", async () => {
  const id = '"$(id -u):$(id -g)/$(id -un):$(id -gn)/$(id -G):$(id -Gn)"';
  const dockerfile = `FROM busybox AS base
${DOCKER_BUSYBOX_GROUPS}
RUN mkdir -m 0777 /out
RUN id -un > /out/rootuser
RUN [ "$(id -u):$(id -g)/$(id -un):$(id -gn)" = '0:0/root:root' ]
USER root
RUN [ "$(id -G):$(id -Gn)" = '0 10:root wheel' ]
RUN echo 'dockerio:x:1001:1001::/bin:/bin/false' >> /etc/passwd && \\
	echo 'dockerio:x:1001:' >> /etc/group
USER dockerio
RUN [ ${id} = '1001:1001/dockerio:dockerio/1001:dockerio' ]
USER root
RUN [ ${id} = '0:0/root:root/0 10:root wheel' ] && \\
	echo 'supplementary:x:1002:dockerio' >> /etc/group
USER dockerio
RUN [ ${id} = '1001:1001/dockerio:dockerio/1001 1002:dockerio supplementary' ]
USER 1001
RUN [ ${id} = '1001:1001/dockerio:dockerio/1001 1002:dockerio supplementary' ]
USER dockerio:dockerio
RUN [ ${id} = '1001:1001/dockerio:dockerio/1001:dockerio' ]
USER 1001:dockerio
RUN [ ${id} = '1001:1001/dockerio:dockerio/1001:dockerio' ]
USER dockerio:1001
RUN [ ${id} = '1001:1001/dockerio:dockerio/1001:dockerio' ]
USER 1001:1001
RUN [ ${id} = '1001:1001/dockerio:dockerio/1001:dockerio' ]
USER dockerio:supplementary
RUN [ ${id} = '1001:1002/dockerio:supplementary/1002:supplementary' ]
USER dockerio:1002
RUN [ ${id} = '1001:1002/dockerio:supplementary/1002:supplementary' ]
USER 1001:supplementary
RUN [ ${id} = '1001:1002/dockerio:supplementary/1002:supplementary' ]
USER 1001:1002
RUN [ ${id} = '1001:1002/dockerio:supplementary/1002:supplementary' ]
USER 1042:1043
RUN [ ${id} = '1042:1043/1042:1043/1043:1043' ]
USER daemon
RUN id -un > /out/daemonuser
FROM scratch
COPY --from=base /out /
USER nobody
`;
  const { out, result } = await buildLocal(root(), { Dockerfile: dockerfile });
  assert.is(await readFile(join(out, "rootuser"), "utf8"), "root\n");
  assert.is(await readFile(join(out, "daemonuser"), "utf8"), "daemon\n");
  assert.is(result.config.config?.User, "nobody");
});

// Waits for the primary group in the supplementary list (CVE-2023-25173's fix), which the
// reliability work of issue 13 brings to executor/user.ts.
test("testUserAdditionalGids: supplementary groups come from /etc/group for a named user, not for a bare uid", async () => {
  const dockerfile = `FROM busybox
${DOCKER_BUSYBOX_GROUPS}
SHELL ["/bin/sh", "-euxc"]
RUN [ "$(id)" = "uid=0(root) gid=0(root) groups=0(root),10(wheel)" ]
USER 1234
RUN [ "$(id)" = "uid=1234 gid=0(root) groups=0(root)" ]
USER 1234:1234
RUN [ "$(id)" = "uid=1234 gid=1234 groups=1234" ]
USER daemon
RUN [ "$(id)" = "uid=1(daemon) gid=1(daemon) groups=1(daemon)" ]
`;
  await buildImage(root(), { Dockerfile: dockerfile });
});

test("testDockerfileCheckHostname: the build arg BUILDKIT_SANDBOX_HOSTNAME is RUN's hostname, in /etc/hosts and $HOSTNAME", async () => {
  const dockerfile = "FROM busybox\nRUN cat /etc/hosts | grep foo\nRUN echo $HOSTNAME | grep foo\n\tRUN echo $(hostname) | grep foo\n";
  await buildImage(root(), { Dockerfile: dockerfile }, { buildArgs: { BUILDKIT_SANDBOX_HOSTNAME: "foo" } });
});

test("testStepNames: steps are named [stage n/N] INSTRUCTION as BuildKit names them", async () => {
  const dockerfile = 'FROM busybox AS base\nWORKDIR /out\nRUN echo "base" > base\nFROM scratch\nCOPY --from=base --chmod=0644 /out /out\n';
  const result = await buildImage(root(), { Dockerfile: dockerfile });
  const names = result.steps.map((step) => step.name);
  assert.ok(names.includes('[base 3/3] RUN echo "base" > base'), names.join("\n"));
  assert.ok(names.includes("[stage-1 1/1] COPY --from=base --chmod=0644 /out /out"), names.join("\n"));
});

test("testTargetMistype: an unknown --target suggests the nearest stage in BuildKit's words", async () => {
  const message = await buildError(root(), { Dockerfile: "FROM scratch AS build\nCOPY Dockerfile /out\nFROM scratch\nCOPY --from=build /out /\n" }, { target: "bulid" });
  assert.match(message, 'target stage "bulid" could not be found (did you mean build?)');
});

test("tsbuild: without Dockerfile, dockerfile is read; a missing Dockerfile fails in BuildKit's words", async () => {
  const context = await makeContext(root(), { foo: "x" });
  assert.match(await buildError(root(), context), /^failed to read dockerfile: open .*\/Dockerfile: no such file or directory/);
  await mkdir(join(context, "sub"));
  await writeFile(join(context, "sub", "dockerfile"), "FROM scratch\nCOPY foo /\n");
  const { out } = await buildLocal(root(), context, { dockerfile: join(context, "sub", "Dockerfile") });
  assert.is(await readFile(join(out, "foo"), "utf8"), "x", "-f sub/Dockerfile falls back to sub/dockerfile too");
});

test.run();
