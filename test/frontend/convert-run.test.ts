import { test } from "uvu";
import * as assert from "uvu/assert";
import { DockerfileSyntaxError } from "../../parser/syntax-error.js";
import { convert, execs, rejection, vertexById } from "./convert-fixture.js";

const runOf = async (text: string, options: Parameters<typeof convert>[1] = {}) => {
  const graph = await convert(text, options);
  const run = execs(graph).at(-1);
  if (!run) throw new Error("no RUN vertex");
  return { graph, run, mounts: run.definition.mounts };
};

test("shell-form RUN runs through /bin/sh -c with the stage's env, cwd and user", async () => {
  const { run } = await runOf("FROM scratch\nENV A=1\nWORKDIR /w\nUSER 1000:1000\nRUN echo hi\n");
  assert.equal(run.definition.args, ["/bin/sh", "-c", "echo hi"]);
  assert.is(run.definition.cwd, "/w");
  assert.is(run.definition.user, "1000:1000");
  assert.ok(run.definition.env.includes("A=1"));
  assert.equal(run.definition.mounts[0], { type: "layer", target: "/", input: 0, selector: "/", readonly: false, output: true });
});

test("exec-form RUN keeps its arguments and SHELL changes only shell form", async () => {
  const { graph } = await runOf('FROM scratch\nSHELL ["/bin/bash", "-c"]\nRUN ["echo", "a b"]\nRUN echo c\n');
  assert.equal(execs(graph).map((v) => v.definition.args), [["echo", "a b"], ["/bin/bash", "-c", "echo c"]]);
});

test("a RUN whose command is one heredoc runs the body as the shell's command", async () => {
  const { run } = await runOf("FROM scratch\nRUN <<EOF\necho one\necho two\nEOF\n");
  assert.equal(run.definition.args, ["/bin/sh", "-c", "echo one\necho two\n"]);
  assert.is(run.name, "[1/1] RUN <<EOF (echo one...)");
});

test("a RUN heredoc with a #! line becomes a script mounted in /dev/pipes", async () => {
  const { graph, run, mounts } = await runOf("FROM scratch\nRUN <<EOF\n#!/usr/bin/env python3\nprint(1)\nEOF\n");
  assert.equal(run.definition.args, ["/bin/sh", "-c", "/dev/pipes/EOF"]);
  const pipe = mounts[1];
  assert.equal(pipe, { type: "bind", target: "/dev/pipes/", input: 1, selector: "/", readonly: true, output: false });
  const script = vertexById(graph, run.inputs[1]);
  assert.equal(script.definition, { op: "file", link: false, actions: [{ action: "mkfile", path: "/EOF", mode: 0o755, data: "#!/usr/bin/env python3\nprint(1)\n" }] });
});

test("a heredoc inside a longer command is handed back to the shell whole", async () => {
  const { run } = await runOf("FROM scratch\nRUN cat <<EOF > /greeting\nhello\nEOF\n");
  assert.equal(run.definition.args, ["/bin/sh", "-c", "cat <<EOF > /greeting\nhello\nEOF"]);
});

test("a cache mount defaults to a shared cache keyed by its target, seeded from scratch", async () => {
  const { graph, run, mounts } = await runOf("FROM scratch\nWORKDIR /src\nRUN --mount=type=cache,target=.cache make\n");
  assert.equal(mounts[1], { type: "cache", target: "/src/.cache", input: 1, selector: "/", readonly: false, id: ".cache", sharing: "shared" });
  assert.equal(vertexById(graph, run.inputs[1]).definition, { op: "source", kind: "scratch" });
});

test("mount options are expanded with the stage's variables", async () => {
  const { mounts } = await runOf("FROM alpine:3.19\nARG DIR=/root/.cache\nRUN --mount=type=cache,id=go-$DIR,target=$DIR,sharing=locked go build\n");
  assert.equal(mounts[1], { type: "cache", target: "/root/.cache", input: 1, selector: "/", readonly: false, id: "go-/root/.cache", sharing: "locked" });
});

test("a cache mount with an owner is prepared as a directory with that owner and mode", async () => {
  const { graph, run, mounts } = await runOf("FROM scratch\nRUN --mount=type=cache,target=/c,uid=1000,gid=1000,mode=0700 ls\n");
  const prepared = vertexById(graph, run.inputs[1]);
  assert.equal(prepared.definition, {
    op: "file",
    link: false,
    actions: [{ action: "mkdir", path: "/cache", mode: 0o700, makeParents: false, chown: "1000:1000" }],
  });
  assert.is((mounts[1] as { selector: string }).selector, "/cache");
});

test("a bind mount from a stage is read-only and selects the source path", async () => {
  const { graph, run, mounts } = await runOf("FROM scratch AS build\nRUN make\nFROM scratch\nRUN --mount=from=build,source=/out,target=/mnt ls /mnt\n");
  assert.equal(mounts[1], { type: "bind", target: "/mnt", input: 1, selector: "/out", readonly: true, output: false });
  assert.is(vertexById(graph, run.inputs[1]).name, "[build 1/1] RUN make");
});

test("a bind mount without from reads the build context", async () => {
  const { graph, run, mounts } = await runOf("FROM scratch\nRUN --mount=target=/ctx,source=src,rw ls\n");
  assert.equal(mounts[1], { type: "bind", target: "/ctx", input: 1, selector: "/src", readonly: false, output: false });
  const context = vertexById(graph, run.inputs[1]).definition;
  assert.equal(context, { op: "source", kind: "local", name: "context", followPaths: ["src"], excludePatterns: [] });
});

test("secret mounts carry ids only, default to /run/secrets, and env secrets are masked in the step name", async () => {
  const { graph, run, mounts } = await runOf(
    "FROM scratch\nRUN --mount=type=secret,id=aws --mount=type=secret,id=tok,env=TOKEN,required echo $TOKEN\n",
  );
  assert.equal(mounts[1], { type: "secret", target: "/run/secrets/aws", id: "aws", optional: true, uid: 0, gid: 0, mode: 0o400 });
  assert.equal(mounts[2], { type: "secret", id: "tok", env: "TOKEN", optional: false, uid: 0, gid: 0, mode: 0o400 });
  assert.is(run.name, "[stage-0 1/1] RUN --mount=type=secret,id=aws --mount=type=secret,id=tok,env=TOKEN,required echo ****");
  assert.equal(graph.secrets, [{ id: "aws", required: false }, { id: "tok", required: true }]);
});

test("tmpfs mounts take a size and ssh mounts default to the default agent", async () => {
  const { graph, mounts } = await runOf("FROM scratch\nRUN --mount=type=tmpfs,target=/tmp,size=64m --mount=type=ssh git clone x\n");
  assert.equal(mounts[1], { type: "tmpfs", target: "/tmp", size: 64 * 1024 * 1024 });
  assert.equal(mounts[2], { type: "ssh", target: "/run/buildkit/ssh_agent.0", id: "default", optional: true, uid: 0, gid: 0, mode: 0o600 });
  assert.equal(graph.ssh, [{ id: "default", required: false }]);
});

test("RUN --network and --security set the exec's modes", async () => {
  const { graph } = await runOf("FROM scratch\nRUN --network=none a\nRUN --network=host --security=insecure b\n");
  assert.equal(execs(graph).map((v) => [v.definition.network, v.definition.security]), [["none", "sandbox"], ["host", "insecure"]]);
});

const badMounts: [string, RegExp, string | undefined][] = [
  ["type=cach,target=/x", /unsupported mount type "cach" \(did you mean cache\?\)/, undefined],
  ["type=bind,target=/x,mode=0755", /mode not allowed for "bind" type mounts/, undefined],
  ["type=cache,target=/x,sharing=privat", /unsupported sharing value "privat" \(did you mean private\?\)/, undefined],
  ["type=secret,required=maybe,id=a", /invalid value for required: maybe/, undefined],
  ["type=cache,target=/x,required", /unexpected key 'required' for mount type 'cache'/, undefined],
  ["type=tmpfs,target=/x,size=lots", /invalid value for size: lots/, undefined],
  ["type=secret", /invalid secret mount. one of source, target required/, undefined],
  ["type=secret,src=a,id=b", /both source and id can't be set/, undefined],
  ["type=bind,target=/x,sharing=shared", /invalid cache sharing set for bind mount/, undefined],
  ["target=/", /invalid mount target "\/"/, undefined],
  ["targte=/x", /unexpected key 'targte' in 'targte=\/x' \(did you mean target\?\)/, undefined],
  ["type=ssh,source=/x", /ssh does not support source/, undefined],
  // Quotes in flag words are removed by the parser, so the CSV quote comes in single quotes.
  ["'type=cache,\"target=/x'", /extraneous or missing "/, undefined],
];

for (const [spec, reason, hint] of badMounts) {
  test(`a RUN --mount of "${spec}" is an error at the RUN line`, async () => {
    const error = await rejection(() => convert(`FROM scratch\n\nRUN --mount=${spec} true\n`));
    assert.instance(error, DockerfileSyntaxError);
    assert.is(error.line, 3);
    assert.match(error.reason, reason);
    if (hint) assert.is(error.hint, hint);
  });
}

test("a mount from= with a variable is refused, as BuildKit refuses it", async () => {
  const error = await rejection(() => convert("FROM scratch\nARG S=a\nRUN --mount=from=$S,target=/x true\n"));
  assert.match(error.reason, /'from' doesn't support variable expansion/);
});

test("an unknown network mode is an error", async () => {
  const error = await rejection(() => convert("FROM scratch\nRUN --network=bridge true\n"));
  assert.is(error.reason, 'unsupported network mode "bridge"');
});

test("a mount from a stage defined later is an error at the RUN", async () => {
  const error = await rejection(() => convert("FROM scratch AS first\nRUN --mount=from=later,target=/x true\nFROM scratch AS later\nFROM first\n"));
  assert.match(error.reason, /cannot mount from stage "later" to "\/x"/);
  assert.is(error.line, 2);
});

test("a stage only mounted from is still built, and one mounted from nowhere is not", async () => {
  const { graph } = await runOf("FROM alpine:3.19 AS tools\nRUN build-tools\nFROM alpine:3.19 AS unused\nRUN never\nFROM scratch\nRUN --mount=from=tools,target=/t /t/x\n");
  assert.ok(graph.vertices.some((v) => v.name === "[tools 2/2] RUN build-tools"));
  assert.not.ok(graph.vertices.some((v) => v.name.includes("never")));
});

test("an expansion error in a mount option is an error at the RUN", async () => {
  const error = await rejection(() => convert("FROM scratch\nRUN --mount=type=cache,target=${DIR:?DIR is required} true\n"));
  assert.instance(error, DockerfileSyntaxError);
  assert.is(error.line, 2);
});

// dockerfile2llb's detectRunMount gives every mount a source stage (scratch when it names
// none), so the Dockerfile has two stages and the steps carry the stage name.
test("a one-stage Dockerfile whose RUN has a mount names its steps stage-0, as BuildKit does", async () => {
  const graph = await convert("FROM scratch\nRUN --mount=type=cache,target=/c true\n");
  assert.is(execs(graph)[0].name, "[stage-0 1/1] RUN --mount=type=cache,target=/c true");
});

test("step names upper-case the keyword and keep quotes and unset variables as written", async () => {
  const { run } = await runOf("FROM scratch\nENV WHO=world\nrun echo \"hello $WHO\" '$WHO' ${NOPE:-x} $NOPE\n");
  assert.is(run.name, "[1/1] RUN echo \"hello world\" '$WHO' ${NOPE:-x} $NOPE");
});

test("the build's --network is the default of every RUN that does not choose one", async () => {
  const { graph } = await runOf("FROM scratch\nRUN a\nRUN --network=none b\n", { network: "host" });
  assert.equal(execs(graph).map((v) => v.definition.network), ["host", "none"]);
});

test("--no-cache marks the steps of the named stages, outside their definitions", async () => {
  const text = "FROM scratch AS build\nRUN make\nFROM scratch\nCOPY --from=build /x /x\nRUN test\n";
  const some = await convert(text, { noCache: ["build"] });
  assert.equal(
    some.vertices.filter((v) => v.definition.op !== "source").map((v) => [v.name, v.ignoreCache]),
    [["[build 1/1] RUN make", true], ["[stage-1 1/2] COPY --from=build /x /x", false], ["[stage-1 2/2] RUN test", false]],
  );
  const all = await convert(text, { noCache: true });
  assert.ok(all.vertices.filter((v) => v.definition.op !== "source").every((v) => v.ignoreCache));
  assert.not.ok(JSON.stringify(all.vertices.map((v) => v.definition)).includes("ignoreCache"));
});

test.run();
