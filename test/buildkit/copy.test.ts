// Ported from moby/buildkit frontend/dockerfile/dockerfile_copy_test.go (73ed6825).
import { lstat, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import * as assert from "uvu/assert";
import { buildError, buildImage, buildLocal, makeContext, portedSuite } from "./ported.js";

const { test, root } = portedSuite("BuildKit dockerfile_copy_test.go");

/** docker.io's busybox has a daemon user and a nobody group; ours gets them with one RUN. */
const DOCKER_BUSYBOX_USERS = "RUN echo 'daemon:x:1:1:daemon:/usr/sbin:/bin/false' >> /etc/passwd && echo 'daemon:x:1:' >> /etc/group && echo 'nobody:x:65533:' >> /etc/group";

/** `adduser -D NAME` (Debian's static busybox has no adduser applet): a user and its group. */
const adduser = (name: string, id: number) => `echo '${name}:x:${id}:${id}::/home/${name}:/bin/sh' >> /etc/passwd && echo '${name}:x:${id}:' >> /etc/group`;

const read = (out: string, path: string) => readFile(join(out, path), "utf8");

test("testDockerfileCopyFromArgs: --from with a variable is refused with BuildKit's advice", async () => {
  const message = await buildError(root(), { Dockerfile: "FROM scratch\nCOPY --from=$FOO . .\n" });
  assert.match(message, "variable expansion is not supported for --from, define a new stage with FROM using ARG from global scope as a workaround");
});

test("testEmptyDestDir: COPY to an empty destination copies into the working directory", async () => {
  await buildImage(root(), { Dockerfile: 'FROM busybox\nENV empty=""\nCOPY testfile $empty\nRUN [ "$(cat testfile)" == "contents0" ]\n', testfile: "contents0" });
});

test("testPreserveDestDirSlash: a destination ending in / is a directory", async () => {
  await buildImage(root(), { Dockerfile: 'FROM busybox\nCOPY testfile /sample/\nRUN [ "$(cat /sample/testfile)" == "contents0" ]\n', testfile: "contents0" });
});

test("testCopyLinkDotDestDir: COPY --link to . lands in WORKDIR", async () => {
  await buildImage(root(), { Dockerfile: 'FROM busybox\nWORKDIR /var/www\nCOPY --link testfile .\nRUN [ "$(cat testfile)" == "contents0" ]\n', testfile: "contents0" });
});

test("testCopyLinkEmptyDestDir: COPY --link to an empty destination lands in WORKDIR", async () => {
  await buildImage(root(), { Dockerfile: 'FROM busybox\nWORKDIR /var/www\nENV empty=""\nCOPY --link testfile $empty\nRUN [ "$(cat testfile)" == "contents0" ]\n', testfile: "contents0" });
});

const checkOwner = (path: string, expected: string) =>
  `e="${expected}"; p="${path}"; a=\`stat -c "%u:%g" "$p"\`; if [ "$a" != "$e" ]; then echo "incorrect ownership on $p. expected $e, got $a"; exit 1; fi`;

test("testCopyChownExistingDir: a created destination is root's (or --chown's), an existing one keeps its owner, copied entries keep theirs", async () => {
  const checks = (chowned: boolean) => {
    const copied = (own: string) => (chowned ? "300:400" : own);
    return [
      checkOwner("/file", copied("100:200")),
      checkOwner("/dir", chowned ? "300:400" : "0:0"),
      checkOwner("/dir/subdir", copied("101:201")),
      checkOwner("/dir/subdir/nestedfile", copied("102:202")),
      checkOwner("/existingdir", "500:600"),
      checkOwner("/existingdir/existingsubdir", "501:601"),
      checkOwner("/existingdir/existingfile", "501:601"),
      checkOwner("/existingdir/subdir", copied("101:201")),
      checkOwner("/existingdir/subdir/nestedfile", copied("102:202")),
    ].join(" \\\n && ");
  };
  const dockerfile = `FROM busybox AS source
RUN touch /file && chown 100:200 /file \\
 && mkdir -p /dir/subdir \\
 && touch /dir/subdir/nestedfile \\
 && chown 100:200 /dir \\
 && chown 101:201 /dir/subdir \\
 && chown 102:202 /dir/subdir/nestedfile
FROM busybox AS test_base
RUN mkdir -p /existingdir/existingsubdir \\
 && touch /existingdir/existingfile \\
 && chown 500:600 /existingdir \\
 && chown 501:601 /existingdir/existingsubdir \\
 && chown 501:601 /existingdir/existingfile
FROM test_base AS copy_from
COPY --from=source /file .
COPY --from=source /dir /dir
COPY --from=source /dir/. /existingdir
RUN ${checks(false)}
FROM test_base AS copy_from_chowned
COPY --from=source --chown=300:400 /file .
COPY --from=source --chown=300:400 /dir /dir
COPY --from=source --chown=300:400 /dir/. /existingdir
RUN ${checks(true)}
`;
  const context = await makeContext(root(), { "Dockerfile.web": dockerfile, Dockerfile: { symlink: "Dockerfile.web" } });
  await buildImage(root(), context, { target: "copy_from" });
  await buildImage(root(), context, { target: "copy_from_chowned" });
});

test("testCopyWildcardCache: a wildcard COPY's cache follows the matched files only", async () => {
  const dockerfile = "FROM busybox AS base\nCOPY foo* files/\nRUN cat /dev/urandom | head -c 100 | sha256sum > unique\nCOPY bar files/\nFROM scratch\nCOPY --from=base unique /\n";
  const context = await makeContext(root(), { Dockerfile: dockerfile, foo1: "foo1-data", foo2: "foo2-data", bar: "bar-data" });
  const first = await read((await buildLocal(root(), context)).out, "unique");
  await writeFile(join(context, "bar"), "bar-data-mod");
  assert.is(await read((await buildLocal(root(), context)).out, "unique"), first, "bar is not matched by foo*");
  await writeFile(join(context, "foo2"), "foo2-data-mod");
  assert.is.not(await read((await buildLocal(root(), context)).out, "unique"), first, "foo2 is");
});

test("testEmptyWildcard: a wildcard with no match among other sources is fine", async () => {
  const { out } = await buildLocal(root(), { Dockerfile: "FROM scratch\nCOPY foo nomatch* /\n", foo: "contents0" });
  assert.is(await read(out, "foo"), "contents0");
});

test("testCopyChownCreateDest: a destination COPY creates belongs to --chown's user and group, names expanded", async () => {
  const dockerfile = `FROM busybox
ARG group
ENV owner user01
RUN ${adduser("user", 1002)}
RUN ${adduser("user01", 1003)}
COPY --chown=user:user . /dest
COPY --chown=\${owner}:\${group} . /dest01
RUN [ "$(stat -c "%U %G" /dest)" == "user user" ]
RUN [ "$(stat -c "%U %G" /dest01)" == "user01 user" ]
`;
  await buildImage(root(), { Dockerfile: dockerfile }, { buildArgs: { group: "user" } });
});

test("testCopyThroughSymlinkContext: a source path through a symlink of the context", async () => {
  const { out } = await buildLocal(root(), { Dockerfile: "FROM scratch\nCOPY link/foo .\n", link: { symlink: "sub" }, "sub/foo": "contents" });
  assert.is(await read(out, "foo"), "contents");
});

test("testCopyThroughSymlinkMultiStage: source paths through absolute and relative symlinks of a stage", async () => {
  const dockerfile = 'FROM busybox AS build\nRUN mkdir -p /out/sub && ln -s /out/sub /sub && ln -s out/sub /sub2 && echo -n "data" > /sub/foo\nFROM scratch\nCOPY --from=build /sub/foo .\nCOPY --from=build /sub2/foo bar\n';
  const { out } = await buildLocal(root(), { Dockerfile: dockerfile });
  assert.is(await read(out, "foo"), "data");
});

test("testCopySocket: a socket of the context arrives as a regular file", async () => {
  const { out } = await buildLocal(root(), { Dockerfile: "FROM scratch\nCOPY . /\n", "socket.sock": { socket: 0o600 } });
  assert.ok((await lstat(join(out, "socket.sock"))).isFile());
});

test("testCopyFollowAllSymlinks: a source that is a symlink is followed, also inside a copied path", async () => {
  await buildLocal(root(), { Dockerfile: "FROM scratch\nCOPY foo /\nCOPY foo/sub bar\n", bar: "bar-contents", foo: { dir: 0o700 }, "foo/sub": { symlink: "../bar" } });
});

test("testCopySymlinks: matched symlinks are followed, chains included", async () => {
  const { out } = await buildLocal(root(), {
    Dockerfile: "FROM scratch\nCOPY foo /\nCOPY sub/l* alllinks/\n",
    bar: "bar-contents",
    foo: { symlink: "bar" },
    "sub/lfile": "lfile-contents",
    "sub/l0": { symlink: "subfile" },
    "sub/subfile": "subfile-contents",
    "sub/l1": { symlink: "second" },
    "sub/second": { symlink: "baz" },
    "sub/baz": "baz-contents",
  });
  assert.is(await read(out, "foo"), "bar-contents");
  assert.is(await read(out, "alllinks/l0"), "subfile-contents");
  assert.is(await read(out, "alllinks/lfile"), "lfile-contents");
  assert.is(await read(out, "alllinks/l1"), "baz-contents");
});

test("testCopyChown: --chown by user name, by uid and group name, and expanded", async () => {
  const dockerfile = `FROM busybox AS base
${DOCKER_BUSYBOX_USERS}
ENV owner 1000
RUN mkdir -m 0777 /out
COPY --chown=daemon foo /
COPY --chown=1000:nobody bar /baz
ARG group
COPY --chown=\${owner}:\${group} foo /foobis
RUN stat -c "%U %G" /foo  > /out/fooowner
RUN stat -c "%u %G" /baz/sub  > /out/subowner
RUN stat -c "%u %G" /foobis  > /out/foobisowner
FROM scratch
COPY --from=base /out /
`;
  const { out } = await buildLocal(root(), { Dockerfile: dockerfile, foo: "foo-contents", bar: { dir: 0o700 }, "bar/sub": "" }, { buildArgs: { group: "nobody" } });
  assert.is(await read(out, "fooowner"), "daemon daemon\n");
  assert.is(await read(out, "subowner"), "1000 nobody\n");
  assert.is(await read(out, "foobisowner"), "1000 nobody\n");
});

test("testCopyChmod: --chmod sets the copied file's mode and an octal one that of the directories it creates", async () => {
  const dockerfile = `FROM busybox AS base
RUN mkdir -m 0777 /out
COPY --chmod=0644 foo /
COPY --chmod=777 bar /baz
COPY --chmod=0 foo /foobis
COPY --chmod=777 foo /parent/foo
COPY --chmod=770 foo /parent/sub/foo
ARG mode
COPY --chmod=\${mode} foo /footer
RUN stat -c "%04a" /foo  > /out/fooperm
RUN stat -c "%04a" /baz  > /out/barperm
RUN stat -c "%04a" /foobis  > /out/foobisperm
RUN stat -c "%04a" /parent  > /out/parentperm
RUN stat -c "%04a" /parent/sub  > /out/subparentperm
RUN stat -c "%04a" /footer  > /out/footerperm
FROM scratch
COPY --from=base /out /
`;
  const { out } = await buildLocal(root(), { Dockerfile: dockerfile, foo: "foo-contents", bar: { data: "bar-contents", mode: 0o700 } }, { buildArgs: { mode: "755" } });
  const expected: Record<string, string> = { fooperm: "0644", barperm: "0777", foobisperm: "0000", parentperm: "0777", subparentperm: "0770", footerperm: "0755" };
  for (const [file, mode] of Object.entries(expected)) assert.is(await read(out, file), `${mode}\n`, file);
});

test("testCopyInvalidChmod: an --chmod that is not octal or too large is refused", async () => {
  for (const mode of ["64a", "10000"]) {
    const message = await buildError(root(), { Dockerfile: `FROM scratch\nCOPY --chmod=${mode} foo /\n`, foo: "foo-contents" });
    assert.match(message, `invalid chmod parameter: '${mode}'. it should be octal string and between 0 and 07777`);
  }
});

test("testCopyOverrideFiles: copying the same files twice overrides them", async () => {
  const dockerfile = "FROM scratch AS base\nCOPY sub sub\nCOPY sub sub\nCOPY files/foo.go dest/foo.go\nCOPY files/foo.go dest/foo.go\nCOPY files dest\n";
  const { out } = await buildLocal(root(), { Dockerfile: dockerfile, "sub/dir1/dir2/foo": "foo-contents", "files/foo.go": "foo.go-contents" });
  assert.is(await read(out, "sub/dir1/dir2/foo"), "foo-contents");
  assert.is(await read(out, "dest/foo.go"), "foo.go-contents");
});

test("testCopyVarSubstitution: a source from ENV", async () => {
  const { out } = await buildLocal(root(), { Dockerfile: "FROM scratch AS base\nENV FOO bar\nCOPY $FOO baz\n", bar: "bar-contents" });
  assert.is(await read(out, "baz"), "bar-contents");
});

test("testCopyWildcards: wildcards, directories with and without trailing / and /.", async () => {
  const dockerfile = `FROM scratch AS base
COPY *.go /gofiles/
COPY f*.go foo2.go
COPY sub/* /subdest/
COPY sub/*/dir2/foo /subdest2/
COPY sub/*/dir2/foo /subdest3/bar
COPY . all/
COPY sub/dir1/ subdest4
COPY sub/dir1/. subdest5
COPY sub/dir1 subdest6
`;
  const { out } = await buildLocal(root(), { Dockerfile: dockerfile, "foo.go": "foo-contents", "bar.go": "bar-contents", "sub/dir1/dir2/foo": "foo-contents" });
  const expected: Record<string, string> = {
    "gofiles/foo.go": "foo-contents",
    "gofiles/bar.go": "bar-contents",
    "foo2.go": "foo-contents",
    "subdest/dir2/foo": "foo-contents",
    "subdest2/foo": "foo-contents",
    "subdest3/bar": "foo-contents",
    "all/foo.go": "foo-contents",
    "subdest4/dir2/foo": "foo-contents",
    "subdest5/dir2/foo": "foo-contents",
    "subdest6/dir2/foo": "foo-contents",
  };
  for (const [path, contents] of Object.entries(expected)) assert.is(await read(out, path), contents, path);
});

test("testCopyRelative: relative destinations follow WORKDIR", async () => {
  const dockerfile = `FROM busybox
WORKDIR /test1
WORKDIR test2
RUN sh -c "[ "$PWD" = '/test1/test2' ]"
COPY foo ./
RUN sh -c "[ $(cat /test1/test2/foo) = 'hello' ]"
ADD foo ./bar/baz
RUN sh -c "[ $(cat /test1/test2/bar/baz) = 'hello' ]"
COPY foo ./bar/baz2
RUN sh -c "[ $(cat /test1/test2/bar/baz2) = 'hello' ]"
WORKDIR ..
COPY foo ./
RUN sh -c "[ $(cat /test1/foo) = 'hello' ]"
COPY foo /test3/
RUN sh -c "[ $(cat /test3/foo) = 'hello' ]"
WORKDIR /test4
COPY . .
RUN sh -c "[ $(cat /test4/foo) = 'hello' ]"
WORKDIR /test5/test6
COPY foo ../
RUN sh -c "[ $(cat /test5/foo) = 'hello' ]"
`;
  await buildImage(root(), { Dockerfile: dockerfile, foo: "hello" });
});

test("testCopyUnicodePath: non-ASCII, percent and plus signs in names are kept", async () => {
  const { out } = await buildLocal(root(), {
    Dockerfile: "FROM busybox\nCOPY test-äöü.txt /\nCOPY test-%C3%A4%C3%B6%C3%BC.txt /\nCOPY test+aou.txt /\n",
    "test-äöü.txt": { data: "foo", mode: 0o644 },
    "test-%C3%A4%C3%B6%C3%BC.txt": { data: "bar", mode: 0o644 },
    "test+aou.txt": { data: "baz", mode: 0o644 },
  });
  assert.is(await read(out, "test-äöü.txt"), "foo");
  assert.is(await read(out, "test-%C3%A4%C3%B6%C3%BC.txt"), "bar");
  assert.is(await read(out, "test+aou.txt"), "baz");
});

test("testChmodNonOctal: symbolic --chmod gives what chmod(1) gives, for files and directories", async () => {
  const cases = [
    { src: "file", dst: "f1", mode: "go-w", isDir: false },
    { src: "file", dst: "f2", mode: "u=rw,g=r,o=r", isDir: false },
    { src: "file", dst: "f3", mode: "a+X", isDir: false },
    { src: "dir", dst: "d1", mode: "go-w", isDir: true },
    { src: "dir", dst: "d2", mode: "u+rw,g+r,o-x,o+w", isDir: true },
    { src: "dir", dst: "d3", mode: "a+X", isDir: true },
  ];
  const expected: string[] = [];
  const copies: string[] = [];
  const verify: string[] = [];
  for (const c of cases) {
    if (c.isDir) {
      expected.push(`RUN mkdir -p /input/dirs/${c.dst} && cp -a /input/${c.src} /input/dirs/${c.dst}/${c.dst}`);
      expected.push(`RUN cp -a /input/dirs/${c.dst}/. /expected/ && chmod ${c.mode} /expected/${c.dst}`);
      copies.push(`COPY --from=base --chmod=${c.mode} /input/dirs/${c.dst} /`);
    } else {
      expected.push(`RUN cp -a /input/${c.src} /expected/${c.dst} && chmod ${c.mode} /expected/${c.dst}`);
      copies.push(`COPY --from=base --chmod=${c.mode} /input/${c.src} /${c.dst}`);
    }
    verify.push(`RUN [ "$(stat -c %A /actual/${c.dst})" = "$(stat -c %A /expected/${c.dst})" ]`);
  }
  const dockerfile = `FROM busybox as base
RUN <<eot
	set -ex
	mkdir /input
	touch /input/file
	chmod 666 /input/file
	mkdir /input/dir
	chmod 124 /input/dir
	mkdir /expected
eot
${expected.join("\n")}

FROM scratch as result
${copies.join("\n")}

FROM base
COPY --from=result / /actual/
${verify.join("\n")}
`;
  await buildImage(root(), { Dockerfile: dockerfile });
});

test("testLocalCustomSessionID: a stage replaced by a named local context", async () => {
  const other = await makeContext(root(), { another: "contents2" });
  const { out } = await buildLocal(
    root(),
    { Dockerfile: "FROM scratch AS base\nFROM scratch\nCOPY out /out1\nCOPY --from=base /another /out2\n", out: "contents1" },
    { contexts: { base: other } },
  );
  assert.is(await read(out, "out1"), "contents1");
  assert.is(await read(out, "out2"), "contents2");
});

test.run();
