// Ported from moby/buildkit frontend/dockerfile/dockerfile_mount_test.go,
// dockerfile_secrets_test.go and dockerfile_dockerignore_test.go (73ed6825).
import { readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import * as assert from "uvu/assert";
import { buildError, buildImage, buildLocal, makeContext, portedSuite } from "./ported.js";

const { test, root } = portedSuite("BuildKit dockerfile_mount_test.go, dockerfile_secrets_test.go, dockerfile_dockerignore_test.go");

/** A secret `mysecret` = "pw", from a file of the test root (BuildKit's secretsprovider.FromMap). */
async function mysecret(): Promise<Record<string, { file: string }>> {
  const file = join(root().dir, "mysecret");
  await writeFile(file, "pw", { mode: 0o600 });
  return { mysecret: { file } };
}

test("testMountContext: a bind mount without from= is the build context", async () => {
  await buildImage(root(), { Dockerfile: 'FROM busybox\nRUN --mount=target=/context [ "$(cat /context/testfile)" == "contents0" ]\n', testfile: "contents0" });
});

test("testMountTmpfs: a tmpfs mount leaves nothing behind", async () => {
  await buildImage(root(), { Dockerfile: "FROM busybox\nRUN --mount=target=/mytmp,type=tmpfs touch /mytmp/foo\nRUN [ ! -f /mytmp/foo ]\n" });
});

test("testMountInvalid: a misspelt flag, key or mount type is refused with a suggestion", async () => {
  let message = await buildError(root(), { Dockerfile: "FROM scratch\nRUN --mont=target=/mytmp,type=tmpfs /bin/true\n" });
  assert.match(message, "unknown flag: --mont");
  assert.match(message, "did you mean mount?");
  message = await buildError(root(), { Dockerfile: "\tFROM scratch\n\tRUN --mount=typ=tmpfs /bin/true\n" });
  assert.match(message, "unexpected key 'typ'");
  assert.match(message, "did you mean type?");
  message = await buildError(root(), { Dockerfile: "\tFROM scratch\n\tRUN --mount=type=tmp /bin/true\n" });
  assert.match(message, 'unsupported mount type "tmp"');
  assert.match(message, "did you mean tmpfs?");
});

// A RUN is keyed by the content of the stage path it mounts, not by that stage's key: the
// stage rebuilds (cachebust) to the same out/, so the RUN stays cached and /unique with it.
test("testMountRWCache: a rw bind mount of a stage is cached by that stage's content", async () => {
  const dockerfile = `from busybox AS build
copy cachebust /
run mkdir out && echo foo > out/foo
from busybox as second
RUN --mount=from=build,src=out,target=/out,rw touch /out/bar && cat /dev/urandom | head -c 100 | sha256sum > /unique
from scratch
COPY --from=second /unique /unique
`;
  const first = await readFile(join((await buildLocal(root(), { Dockerfile: dockerfile, cachebust: "0" })).out, "unique"));
  const second = await readFile(join((await buildLocal(root(), { Dockerfile: dockerfile, cachebust: "1" })).out, "unique"));
  assert.equal(second, first);
});

test("testCacheMountUser: a cache mount's uid, gid and mode", async () => {
  await buildImage(root(), { Dockerfile: 'FROM busybox\nRUN --mount=type=cache,target=/mycache,uid=1001,gid=1002,mode=0751 [ "$(stat -c "%u %g %f" /mycache)" == "1001 1002 41e9" ]\n' });
});

test("testCacheMountDefaultID: a cache mount's id defaults to its target", async () => {
  await buildImage(root(), {
    Dockerfile: "FROM busybox\nRUN --mount=type=cache,target=/mycache touch /mycache/foo\nRUN --mount=type=cache,target=/mycache2 [ ! -f /mycache2/foo ]\nRUN --mount=type=cache,target=/mycache [ -f /mycache/foo ]\n",
  });
});

test("testMountEnvVar: a mount target from ENV", async () => {
  await buildImage(root(), { Dockerfile: "FROM busybox\nENV SOME_PATH=/mycache\nRUN --mount=type=cache,target=/mycache touch /mycache/foo\nRUN --mount=type=cache,target=$SOME_PATH [ -f $SOME_PATH/foo ]\n" });
});

test("testMountArg: a mount type from ARG", async () => {
  await buildImage(root(), { Dockerfile: "FROM busybox\nARG MNT_TYPE=cache\nRUN --mount=type=$MNT_TYPE,target=/mycache2 touch /mycache2/foo\nRUN --mount=type=cache,target=/mycache2 [ -f /mycache2/foo ]\n" });
});

test("testMountEnvAcrossStages: mount options from ENV of a parent stage", async () => {
  const dockerfile = `FROM busybox as stage1
ENV MNT_ID=mycache
ENV MNT_TYPE2=cache
RUN --mount=type=cache,id=mycache,target=/abcabc touch /abcabc/foo
RUN --mount=type=$MNT_TYPE2,id=$MNT_ID,target=/cbacba [ -f /cbacba/foo ]
FROM stage1
RUN --mount=type=$MNT_TYPE2,id=$MNT_ID,target=/whatever [ -f /whatever/foo ]
`;
  await buildImage(root(), { Dockerfile: dockerfile });
});

test("testMountMetaArg: a mount target from a global ARG redeclared in the stage", async () => {
  const dockerfile = "ARG META_PATH=/tmp/meta\nFROM busybox\nARG META_PATH\nRUN --mount=type=cache,id=mycache,target=/tmp/meta touch /tmp/meta/foo\nRUN --mount=type=cache,id=mycache,target=$META_PATH [ -f /tmp/meta/foo ]\n";
  await buildImage(root(), { Dockerfile: dockerfile });
});

test("testMountFromError: from= does not expand variables", async () => {
  const message = await buildError(root(), { Dockerfile: "FROM busybox as test\nRUN touch /tmp/test\nFROM busybox\nENV ttt=test\nRUN --mount=from=$ttt,type=cache,target=/tmp ls\n" });
  assert.match(message, "'from' doesn't support variable expansion, define alias stage instead");
});

test("testMountTmpfsSize: a tmpfs mount's size", async () => {
  const { out } = await buildLocal(root(), { Dockerfile: "FROM busybox AS base\nRUN --mount=type=tmpfs,target=/dev/shm,size=128m mount | grep /dev/shm > /tmpfssize\nFROM scratch\nCOPY --from=base /tmpfssize /\n" });
  assert.match(await readFile(join(out, "tmpfssize"), "utf8"), "size=131072k");
});

test("testMountDuplicate: two bind mounts of the context, the second inside the first; a changed file is seen", async () => {
  const dockerfile = "FROM busybox AS base\nRUN --mount=source=.,target=/tmp/test \\\n  --mount=source=b.txt,target=/tmp/b.txt \\\n  cat /tmp/test/a.txt /tmp/b.txt > /combined.txt\nFROM scratch\nCOPY --from=base /combined.txt /\n";
  for (const text of ["foo\n", "updated\n"]) {
    const { out } = await buildLocal(root(), { Dockerfile: dockerfile, "a.txt": text, "b.txt": "bar\n" });
    assert.is(await readFile(join(out, "combined.txt"), "utf8"), `${text}bar\n`);
  }
});

test("testCacheMountParallel: nested cache mounts in parallel stages, built again and again without cache", async () => {
  const dockerfile = `FROM busybox AS b1
RUN --mount=type=cache,target=/foo/bar --mount=type=cache,target=/foo/bar/baz echo 1
FROM busybox AS b2
RUN --mount=type=cache,target=/foo/bar --mount=type=cache,target=/foo/bar/baz echo 2
FROM scratch
COPY --from=b1 /etc/passwd p1
COPY --from=b2 /etc/passwd p2
`;
  const context = await makeContext(root(), { Dockerfile: dockerfile });
  for (let i = 0; i < 20; i++) await buildImage(root(), context, { noCache: true });
});

test("testCacheMountSourceEscape: a cache mount's source= through a symlink out of the cache fails", async () => {
  const dockerfile = `FROM busybox AS init
RUN --mount=type=cache,id=sourceescape,target=/cache mkdir -p /cache/sel && echo benign > /cache/sel/benign.txt
FROM init AS link
RUN --mount=type=cache,id=sourceescape,target=/cache rm -rf /cache/sel && ln -s /etc /cache/sel
FROM link AS victim
RUN --mount=type=cache,id=sourceescape,source=sel,target=/victim cat /victim/hostname
FROM scratch
COPY --from=victim /etc/hostname /hostname
`;
  await buildError(root(), { Dockerfile: dockerfile }, { noCache: true });
});

test("testSecretFileParams: a secret's target, mode, uid and gid; no stub is left behind", async () => {
  const dockerfile = 'FROM busybox\nRUN --mount=type=secret,required=false,mode=741,uid=100,gid=102,target=/mysecret [ "$(stat -c "%u %g %f" /mysecret)" = "100 102 81e1" ]\nRUN [ ! -f /mysecret ] # check no stub left behind\n';
  await buildImage(root(), { Dockerfile: dockerfile }, { secrets: await mysecret() });
});

test("testSecretRequiredWithoutValue: a required secret that was not given fails in BuildKit's words", async () => {
  const message = await buildError(root(), { Dockerfile: "FROM busybox \n\t\tRUN --mount=type=secret,required,id=mysecret foo" });
  assert.match(message, "secret mysecret: not found");
});

test("testSecretAsEnviron: a secret as an environment variable, masked in the step name, with no file", async () => {
  const dockerfile = 'FROM busybox\nENV SECRET_ENV=foo\nRUN --mount=type=secret,id=mysecret,env=SECRET_ENV [ "$SECRET_ENV" == "pw" ] && [ ! -f /run/secrets/mysecret ] || false\n';
  const result = await buildImage(root(), { Dockerfile: dockerfile }, { secrets: await mysecret() });
  const step = result.steps.find((s) => s.name.includes("/run/secrets/mysecret"));
  assert.ok(step !== undefined, "the RUN step is reported");
  assert.match(step.name, '[ "****" == "pw" ] && ');
});

test("testSecretAsEnvironWithFileMount: a secret both as a variable and as a file", async () => {
  const dockerfile = 'FROM busybox\nRUN --mount=type=secret,id=mysecret,target=/run/secrets/secret,env=SECRET_ENV [ "$SECRET_ENV" == "pw" ] && [ -f /run/secrets/secret ] || false\n';
  await buildImage(root(), { Dockerfile: dockerfile }, { secrets: await mysecret() });
});

test("testDockerignore: .dockerignore patterns with an exception", async () => {
  const { out } = await buildLocal(root(), {
    Dockerfile: "FROM scratch\nCOPY . .\n",
    foo: "foo-contents",
    bar: "bar-contents",
    baz: "baz-contents",
    bay: "bay-contents",
    ".dockerignore": "\nba*\nDockerfile\n!bay\n.dockerignore\n",
  });
  assert.is(await readFile(join(out, "foo"), "utf8"), "foo-contents");
  for (const gone of [".dockerignore", "Dockerfile", "bar", "baz"]) assert.not.ok(await stat(join(out, gone)).catch(() => undefined), gone);
  assert.is(await readFile(join(out, "bay"), "utf8"), "bay-contents");
});

test("testDockerignoreInvalid: a lone ! in .dockerignore fails the build", async () => {
  await buildError(root(), { Dockerfile: "FROM scratch\nCOPY . .\n", ".dockerignore": "!\n" });
});

test("testDockerignoreOverride: <Dockerfile>.dockerignore beside the Dockerfile wins", async () => {
  const context = await makeContext(root(), {
    Dockerfile: "FROM busybox\nCOPY . .\nRUN [ -f foo ] && [ ! -f bar ]\n",
    "Dockerfile.dockerignore": "\nbar\n",
    Dockerfile2: "FROM busybox\nCOPY . .\nRUN [ ! -f foo ] && [ -f bar ]\n",
    "Dockerfile2.dockerignore": "\nfoo\n",
    foo: "contents0",
    bar: "contents0",
  });
  await buildImage(root(), context);
  await buildImage(root(), context, { dockerfile: join(context, "Dockerfile2") });
});

test.run();
