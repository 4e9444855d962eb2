// Ported from moby/buildkit frontend/dockerfile/dockerfile_heredoc_test.go (73ed6825).
// Debian's static busybox installs awk as /usr/bin/awk (docker.io's busybox: /bin/awk) and
// has no adduser applet; the Dockerfiles below say so where they differ.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import * as assert from "uvu/assert";
import { buildImage, buildLocal, portedSuite } from "./ported.js";

const { test, root } = portedSuite("BuildKit dockerfile_heredoc_test.go");

async function expectFiles(out: string, contents: Record<string, string>): Promise<void> {
  for (const [name, content] of Object.entries(contents)) assert.is(await readFile(join(out, name), "utf8"), content, name);
}

test("testCopyHeredoc: COPY of one and two heredocs, with --chmod and --chown", async () => {
  const dockerfile = `FROM busybox AS build
RUN echo 'user:x:1002:1002::/home/user:/bin/sh' >> /etc/passwd && echo 'user:x:1002:' >> /etc/group
WORKDIR /dest
COPY <<EOF single
single file
EOF
COPY <<EOF <<EOF2 double/
first file
EOF
second file
EOF2
RUN mkdir -p /permfiles
COPY --chmod=777 <<EOF /permfiles/all
dummy content
EOF
COPY --chmod=0644 <<EOF /permfiles/rw
dummy content
EOF
COPY --chown=user:user <<EOF /permfiles/owned
dummy content
EOF
RUN stat -c "%04a" /permfiles/all >> perms && \\
	stat -c "%04a" /permfiles/rw >> perms && \\
	stat -c "%U:%G" /permfiles/owned >> perms
FROM scratch
COPY --from=build /dest /
`;
  const { out } = await buildLocal(root(), { Dockerfile: dockerfile });
  await expectFiles(out, { single: "single file\n", "double/EOF": "first file\n", "double/EOF2": "second file\n", perms: "0777\n0644\nuser:user\n" });
});

test("testCopyHeredocSpecialSymbols: backslashes and dollars in processed and raw heredocs", async () => {
  const dockerfile = `FROM scratch
COPY <<EOF quotefile
"quotes in file"
EOF
COPY <<EOF slashfile1
\\
EOF
COPY <<EOF slashfile2
\\\\
EOF
COPY <<EOF slashfile3
\\$
EOF
COPY <<"EOF" rawslashfile1
\\
EOF
COPY <<"EOF" rawslashfile2
\\\\
EOF
COPY <<"EOF" rawslashfile3
\\$
EOF
`;
  const { out } = await buildLocal(root(), { Dockerfile: dockerfile });
  await expectFiles(out, {
    quotefile: '"quotes in file"\n',
    slashfile1: "\n",
    slashfile2: "\\\n",
    slashfile3: "$\n",
    rawslashfile1: "\\\n",
    rawslashfile2: "\\\\\n",
    rawslashfile3: "\\$\n",
  });
});

test("testRunBasicHeredoc: RUN runs a heredoc body with the shell", async () => {
  const dockerfile = 'FROM busybox AS build\nRUN <<EOF\necho "i am" >> /dest\nwhoami >> /dest\nEOF\nFROM scratch\nCOPY --from=build /dest /dest\n';
  const { out } = await buildLocal(root(), { Dockerfile: dockerfile });
  await expectFiles(out, { dest: "i am\nroot\n" });
});

test("testRunFakeHeredoc: SHELL decides what runs a heredoc body", async () => {
  const dockerfile = 'FROM busybox AS build\nSHELL ["/usr/bin/awk"]\nRUN <<EOF\nBEGIN {\n\tprint "foo" > "/dest"\n}\nEOF\nFROM scratch\nCOPY --from=build /dest /dest\n';
  const { out } = await buildLocal(root(), { Dockerfile: dockerfile });
  await expectFiles(out, { dest: "foo\n" });
});

test("testRunShebangHeredoc: a body with #! runs as a script, also with <<-", async () => {
  const dockerfile = `FROM busybox AS build
WORKDIR /dest
RUN <<EOF
#!/usr/bin/awk -f
BEGIN {
	print "hello" >> "./out1"
	print "world" >> "./out1"
}
EOF
RUN <<-EOF
	#!/usr/bin/awk -f
	BEGIN {
		print "hello" >> "./out2"
		print "world" >> "./out2"
	}
EOF
FROM scratch
COPY --from=build /dest /
`;
  const { out } = await buildLocal(root(), { Dockerfile: dockerfile });
  await expectFiles(out, { out1: "hello\nworld\n", out2: "hello\nworld\n" });
});

test("testRunComplexHeredoc: heredocs as command input and on other file descriptors", async () => {
  const dockerfile = `FROM busybox AS build
WORKDIR /dest
RUN cat <<EOF1 | tr '[:upper:]' '[:lower:]' > ./out1; \\
	cat <<EOF2 | tr '[:lower:]' '[:upper:]' > ./out2
hello WORLD
EOF1
HELLO world
EOF2
RUN <<EOF 3<<IN1 4<<IN2 awk -f -
BEGIN {
	while ((getline line < "/proc/self/fd/3") > 0)
		print tolower(line) > "./fd3"
	while ((getline line < "/proc/self/fd/4") > 0)
		print toupper(line) > "./fd4"
}
EOF
hello WORLD
IN1
HELLO world
IN2
FROM scratch
COPY --from=build /dest /
`;
  const { out } = await buildLocal(root(), { Dockerfile: dockerfile });
  await expectFiles(out, { out1: "hello world\n", out2: "HELLO WORLD\n", fd3: "hello world\n", fd4: "HELLO WORLD\n" });
});

test("testHeredocIndent: <<- strips leading tabs, << keeps them, for COPY and every RUN form", async () => {
  const dockerfile = `FROM busybox AS build
COPY <<EOF /dest/foo-copy
	foo
EOF
COPY <<-EOF /dest/bar-copy
	bar
EOF
RUN <<EOF
echo "
	foo" > /dest/foo-run
EOF
RUN <<-EOF
echo "
	bar" > /dest/bar-run
EOF
RUN <<EOF
#!/bin/sh
echo "
	foo" > /dest/foo2-run
EOF
RUN <<-EOF
#!/bin/sh
echo "
	bar" > /dest/bar2-run
EOF
RUN <<EOF sh > /dest/foo3-run
echo "
	foo"
EOF
RUN <<-EOF sh > /dest/bar3-run
echo "
	bar"
EOF
FROM scratch
COPY --from=build /dest /
`;
  const { out } = await buildLocal(root(), { Dockerfile: dockerfile });
  await expectFiles(out, {
    "foo-copy": "\tfoo\n",
    "foo-run": "\n\tfoo\n",
    "foo2-run": "\n\tfoo\n",
    "foo3-run": "\n\tfoo\n",
    "bar-copy": "bar\n",
    "bar-run": "\nbar\n",
    "bar2-run": "\nbar\n",
    "bar3-run": "\nbar\n",
  });
});

test("testHeredocVarSubstitution: unquoted COPY heredocs expand, quoted ones do not, RUN bodies are the shell's", async () => {
  const dockerfile = `FROM busybox as build
ARG name=world
COPY <<EOF /dest/c1
Hello \${name}!
EOF
COPY <<'EOF' /dest/c2
Hello \${name}!
EOF
COPY <<"EOF" /dest/c3
Hello \${name}!
EOF
COPY <<EOF /dest/q1
Hello '\${name}'!
EOF
COPY <<EOF /dest/q2
Hello "\${name}"!
EOF
COPY <<'EOF' /dest/qsingle1
Hello '\${name}'!
EOF
COPY <<'EOF' /dest/qsingle2
Hello "\${name}"!
EOF
COPY <<"EOF" /dest/qdouble1
Hello '\${name}'!
EOF
COPY <<"EOF" /dest/qdouble2
Hello "\${name}"!
EOF
RUN <<EOF
greeting="Hello"
echo "\${greeting} \${name}!" > /dest/r1
EOF
RUN <<EOF
name="new world"
echo "Hello \${name}!" > /dest/r2
EOF
FROM scratch
COPY --from=build /dest /
`;
  const { out } = await buildLocal(root(), { Dockerfile: dockerfile });
  await expectFiles(out, {
    c1: "Hello world!\n",
    c2: "Hello ${name}!\n",
    c3: "Hello ${name}!\n",
    q1: "Hello 'world'!\n",
    q2: 'Hello "world"!\n',
    qsingle1: "Hello '${name}'!\n",
    qsingle2: 'Hello "${name}"!\n',
    qdouble1: "Hello '${name}'!\n",
    qdouble2: 'Hello "${name}"!\n',
    r1: "Hello world!\n",
    r2: "Hello new world!\n",
  });
});

test("testOnBuildHeredoc: an ONBUILD RUN heredoc keeps its body in the image and runs in the child build", async () => {
  // BuildKit pushes the base to a registry; the local store serves the same purpose here.
  const base = await buildImage(root(), { Dockerfile: 'FROM busybox\nONBUILD RUN <<EOF\necho "hello world" >> /dest\nEOF\n' }, { tags: ["testonbuildheredoc:base"] });
  assert.equal(base.config.config?.OnBuild, ['RUN <<EOF\necho "hello world" >> /dest\nEOF']);
  const { out } = await buildLocal(root(), { Dockerfile: "FROM testonbuildheredoc:base AS base\nFROM scratch\nCOPY --from=base /dest /dest\n" });
  await expectFiles(out, { dest: "hello world\n" });
});

test.run();
