import { test } from "uvu";
import * as assert from "uvu/assert";
import type { CopyAction, FileDefinition } from "../../frontend/graph.js";
import { DockerfileSyntaxError } from "../../parser/syntax-error.js";
import { alpineConfig, convert, files, rejection, vertexById } from "./convert-fixture.js";

const copiesOf = async (text: string, options: Parameters<typeof convert>[1] = {}) => {
  const graph = await convert(text, options);
  const vertex = files(graph).at(-1);
  if (!vertex) throw new Error("no file vertex");
  const actions = vertex.definition.actions.filter((a): a is CopyAction => a.action === "copy");
  return { graph, vertex, actions, definition: vertex.definition as FileDefinition };
};

test("COPY destinations are relative to WORKDIR and keep a trailing slash", async () => {
  const graph = await convert("FROM scratch\nWORKDIR /w\nCOPY a .\nCOPY b sub\nCOPY c sub/\nCOPY d /abs\n");
  const dests = files(graph)
    .flatMap((v) => v.definition.actions)
    .filter((a): a is CopyAction => a.action === "copy")
    .map((a) => a.dest);
  assert.equal(dests, ["/w/", "/w/sub", "/w/sub/", "/abs"]);
});

test("COPY of several sources needs a destination ending in /", async () => {
  const error = await rejection(() => convert("FROM scratch\nCOPY a b /dest\n"));
  assert.instance(error, DockerfileSyntaxError);
  assert.is(error.line, 2);
  assert.is(error.reason, "When using COPY with more than one source file, the destination must be a directory and end with a /");
  const { actions } = await copiesOf("FROM scratch\nCOPY a b /dest/\n");
  assert.equal(actions.map((a) => [a.src, a.dest]), [["/a", "/dest/"], ["/b", "/dest/"]]);
});

test("on a Windows base a destination ending in a backslash is a directory too", async () => {
  const windows = { ...alpineConfig(), os: "windows" };
  const { actions } = await copiesOf("FROM alpine:3.19\nCOPY a.dll b.dll C:\\\\Windows\\\\\n", { images: { "docker.io/library/alpine:3.19": windows } });
  assert.is(actions.length, 2);
});

test("COPY from the context follows symlinks, copies directory contents and allows wildcards", async () => {
  const { graph, vertex, actions } = await copiesOf("FROM scratch\nCOPY ./src/*.ts /app/\n");
  assert.equal(actions[0], {
    action: "copy",
    source: 1,
    src: "/src/*.ts",
    dest: "/app/",
    followSymlinks: true,
    dirContentsOnly: true,
    attemptUnpack: false,
    createDestPath: true,
    allowWildcard: true,
    allowEmptyWildcard: true,
    includePatterns: [],
    excludePatterns: [],
    requiredPaths: [],
  });
  assert.is(vertexById(graph, vertex.inputs[1]).name, "[internal] load build context");
});

test("--chown and --chmod are expanded, checked, and written to history", async () => {
  const { graph, actions } = await copiesOf("FROM scratch\nARG U=app\nCOPY --chown=$U:$U --chmod=0755 run.sh /bin/\n");
  assert.is(actions[0].chown, "app:app");
  assert.equal(actions[0].chmod, { mode: 0o755 });
  assert.is(graph.image.history?.at(-1)?.created_by, "COPY --chown=app:app --chmod=0755 run.sh /bin/ # buildkit");
});

test("--chmod accepts symbolic modes", async () => {
  const { actions } = await copiesOf("FROM scratch\nCOPY --chmod=u+x,go-w run.sh /bin/\n");
  assert.equal(actions[0].chmod, { symbolic: "u+x,go-w" });
});

for (const [chmod, reason] of [
  ["999", "invalid chmod parameter: '999'. it should be octal string and between 0 and 07777"],
  ["17777", "invalid chmod parameter: '17777'. it should be octal string and between 0 and 07777"],
  ["u+q", "invalid chmod parameter: 'u+q'. it should be an octal mode such as 0755 or a symbolic mode such as u+x"],
]) {
  test(`--chmod=${chmod} is an error at the COPY`, async () => {
    const error = await rejection(() => convert(`FROM scratch\nCOPY --chmod=${chmod} a /a\n`));
    assert.instance(error, DockerfileSyntaxError);
    assert.is(error.line, 2);
    assert.is(error.reason, reason);
  });
}

test("ADD unpacks local archives unless --unpack=false; COPY never does", async () => {
  const graph = await convert("FROM scratch\nADD a.tar /x/\nADD --unpack=false b.tar /y/\nCOPY c.tar /z/\n");
  const unpack = files(graph).map((v) => (v.definition.actions[0] as CopyAction).attemptUnpack);
  assert.equal(unpack, [true, false, false]);
});

test("ADD of a URL downloads it to a file named after the URL path, without unpacking", async () => {
  const { graph, vertex, actions } = await copiesOf(
    `FROM scratch\nADD --checksum=sha256:${"0".repeat(64)} https://example.com/files/tool.tar.gz /opt/\n`,
  );
  assert.equal(vertexById(graph, vertex.inputs[1]).definition, {
    op: "source",
    kind: "http",
    url: "https://example.com/files/tool.tar.gz",
    filename: "tool.tar.gz",
    checksum: `sha256:${"0".repeat(64)}`,
  });
  assert.equal([actions[0].src, actions[0].dest, actions[0].attemptUnpack], ["tool.tar.gz", "/opt/", false]);
});

test("ADD of a git URL reads the repository at the ref and subdirectory", async () => {
  const { graph, vertex } = await copiesOf("FROM scratch\nADD --keep-git-dir https://github.com/moby/buildkit.git#v0.12.0:docs /docs\n");
  assert.equal(vertexById(graph, vertex.inputs[1]).definition, {
    op: "source",
    kind: "git",
    remote: "https://github.com/moby/buildkit.git",
    ref: "v0.12.0",
    subdir: "docs",
    keepGitDir: true,
  });
});

for (const [line, reason] of [
  ["COPY https://example.com/x /x", "source can't be a URL for COPY"],
  ["ADD --checksum=sha256:abc https://example.com/x /x", 'invalid checksum digest format: "sha256:abc"'],
  [`ADD --checksum=sha256:${"0".repeat(64)} local.txt /x`, "checksum requires HTTP(S) or Git sources"],
]) {
  test(`"${line}" is an error at its line`, async () => {
    const error = await rejection(() => convert(`FROM scratch\n${line}\n`));
    assert.instance(error, DockerfileSyntaxError);
    assert.is(error.line, 2);
    assert.is(error.reason, reason);
  });
}

test("an unquoted COPY heredoc is expanded, keeping quotes; a quoted one is copied as written", async () => {
  const { graph, vertex } = await copiesOf('FROM scratch\nENV NAME=world\nCOPY <<EOF <<"RAW" /etc/\nhello "$NAME"\nEOF\nhello $NAME\nRAW\n');
  const inline = vertex.inputs.slice(1).map((id) => vertexById(graph, id).definition);
  assert.equal(inline, [
    { op: "file", link: false, actions: [{ action: "mkfile", path: "/EOF", mode: 0o644, data: 'hello "world"\n' }] },
    { op: "file", link: false, actions: [{ action: "mkfile", path: "/RAW", mode: 0o644, data: "hello $NAME\n" }] },
  ]);
  assert.is(graph.image.history?.at(-1)?.created_by, "COPY <<EOF <<RAW /etc/ # buildkit");
});

test("COPY --parents keeps the directories below the /./ pivot", async () => {
  const { actions } = await copiesOf("FROM scratch\nCOPY --parents src/./app/main.ts lib/*.ts /dst/\n");
  assert.equal(
    actions.map((a) => [a.src, a.includePatterns, a.requiredPaths]),
    [
      ["/src", ["app/main.ts"], ["/src/app/main.ts"]],
      ["/", ["lib/*.ts"], []],
    ],
  );
});

test("--exclude and --link reach the file definition", async () => {
  const { definition, actions } = await copiesOf("FROM scratch\nCOPY --link --exclude=*.md --exclude=tmp/ . /src/\n");
  assert.is(definition.link, true);
  assert.equal(actions[0].excludePatterns, ["*.md", "tmp/"]);
});

test("the context source lists the paths COPY reads and the .dockerignore patterns", async () => {
  const graph = await convert("FROM scratch\nCOPY a.txt ./b/ /x/\nADD https://example.com/f /f\n", { dockerignore: ["*.log", "!keep.log"] });
  const context = graph.vertices.find((v) => v.definition.op === "source" && v.definition.kind === "local");
  assert.equal(context?.definition, { op: "source", kind: "local", name: "context", followPaths: ["a.txt", "b"], excludePatterns: ["*.log", "!keep.log"] });
});

test("COPY . reads the whole context", async () => {
  const graph = await convert("FROM scratch\nCOPY . /src/\nCOPY a /a\n");
  const context = graph.vertices.find((v) => v.definition.op === "source" && v.definition.kind === "local");
  assert.equal((context?.definition as { followPaths: string[] }).followPaths, []);
});

test("WORKDIR is relative to the previous one and creates the directory as the current USER", async () => {
  const graph = await convert("FROM scratch\nWORKDIR /a\nUSER app\nWORKDIR b\nWORKDIR ../c\n");
  const mkdirs = files(graph).map((v) => v.definition.actions[0]);
  assert.equal(mkdirs, [
    { action: "mkdir", path: "/a", mode: 0o755, makeParents: true },
    { action: "mkdir", path: "/a/b", mode: 0o755, makeParents: true, chown: "app" },
    { action: "mkdir", path: "/a/c", mode: 0o755, makeParents: true, chown: "app" },
  ]);
  assert.is(graph.image.config.WorkingDir, "/a/c");
  assert.equal(graph.image.history?.map((h) => h.created_by), ["WORKDIR /a", "USER app", "WORKDIR /a/b", "WORKDIR /a/c"]);
});

test("WORKDIR / creates nothing and is an empty layer", async () => {
  const graph = await convert("FROM scratch\nWORKDIR /\n");
  assert.equal(files(graph), []);
  assert.equal(graph.image.history?.[0].empty_layer, true);
});

test("COPY's step name shows its words expanded", async () => {
  const { vertex } = await copiesOf('FROM scratch\nENV V=1.2\nCOPY "app-$V.jar" /app.jar\n');
  assert.is(vertex.name, "[1/1] COPY app-1.2.jar /app.jar");
});

test.run();
