// Ported from moby/buildkit frontend/dockerfile/dockerfile_runnetwork_test.go,
// dockerfile_runsecurity_test.go, exclude_patterns_test.go and errors_test.go (73ed6825).
import { readFile, readlink } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import * as assert from "uvu/assert";
import { DockerfileSyntaxError } from "../../parser/syntax-error.js";
import { build } from "../../build/build.js";
import { BuildFailure } from "../../solver/build-failure.js";
import { buildImage, buildLocal, makeContext, portedSuite } from "./ported.js";

const { test, root } = portedSuite("BuildKit run network, run security, exclude patterns and error source maps");

/** BuildKit's echoserver: answers every connection with `message`, on 127.0.0.1. */
async function echoServer(message: string): Promise<{ port: number; server: Server }> {
  const server = createServer((socket) => socket.end(message));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { port: (server.address() as AddressInfo).port, server };
}

test("testRunHostNetwork: RUN --network=host reaches the host's loopback; the default network does not", async () => {
  // The default network is a namespace of its own (slirp4netns), as BuildKit's CNI bridge is.
  const { port, server } = await echoServer("foo");
  try {
    await buildImage(root(), { Dockerfile: `FROM busybox\nRUN --network=host nc 127.0.0.1 ${port} | grep foo\nRUN ! nc 127.0.0.1 ${port} | grep foo\n` }, { allow: ["network.host"] });
  } finally {
    server.close();
  }
});

test("testRunGlobalNetwork: the build's --network=host applies to every RUN but --network=none", async () => {
  const { port, server } = await echoServer("foo");
  try {
    await buildImage(root(), { Dockerfile: `FROM busybox\nRUN nc 127.0.0.1 ${port} | grep foo\nRUN --network=none ! nc -z 127.0.0.1 ${port}\n` }, { network: "host", allow: ["network.host"] });
  } finally {
    server.close();
  }
});

test("testRunNoNetwork: RUN --network=none has no interface but loopback", async () => {
  await buildImage(root(), { Dockerfile: "FROM busybox\nRUN --network=none ! ip link show eth0\n" });
});

const SANDBOX_CAPS = "CapBnd:\t00000000a80425fb";

test("testRunSecurityInsecure: --security=insecure has every capability, the next RUN the default set", async () => {
  // BuildKit expects all of the first 38 capabilities (0x3fffffffff); a host whose own
  // bounding set lacks some (as this machine lacks CAP_SYS_RESOURCE) cannot give them, so
  // the check is "every capability the host has", masked the same way.
  const hostCaps = /CapBnd:\s*([0-9a-f]+)/.exec(await readFile("/proc/self/status", "utf8"))![1];
  const expected = (BigInt(`0x${hostCaps}`) & 0x3fffffffffn).toString(16);
  const dockerfile = `FROM busybox
RUN --security=insecure [ "$(printf '%x' $(( $(cat /proc/self/status | grep CapBnd | cut -f 2 | sed s#^#0x#) & 0x3fffffffff)))" == "${expected}" ]
RUN [ "$(cat /proc/self/status | grep CapBnd)" == "${SANDBOX_CAPS}" ]
`;
  await buildImage(root(), { Dockerfile: dockerfile }, { allow: ["security.insecure"] });
});

test("testRunSecuritySandbox: --security=sandbox has docker's default capabilities", async () => {
  await buildImage(root(), { Dockerfile: `FROM busybox\nRUN --security=sandbox [ "$(cat /proc/self/status | grep CapBnd)" == "${SANDBOX_CAPS}" ]\n` });
});

test("testRunSecurityDefault: without --security, docker's default capabilities, even with the entitlement", async () => {
  await buildImage(root(), { Dockerfile: `FROM busybox\nRUN [ "$(cat /proc/self/status | grep CapBnd)" == "${SANDBOX_CAPS}" ]\n` }, { allow: ["security.insecure"] });
});

test("testExcludedFilesOnCopy: COPY and ADD --exclude, with directories, wildcards and symlinks", async () => {
  const dockerfile = `# ignore all the image files
FROM scratch as builder1
COPY --exclude=*/*.png --exclude=*/*.jpeg . /1
# ignore all document files
FROM scratch as builder2
COPY --exclude=*/*.pdf --exclude=*/*.txt . /2
# ignore all mp3 files
FROM scratch as builder3
ADD --exclude=*.mp3 dir3/ /3/
FROM scratch as builder4
COPY --exclude=*.mp3 --exclude=*.jpeg --exclude=*.png --exclude=*.pdf --exclude=*.txt dir* /4/
FROM scratch as builder5
ADD --exclude=*.mp* --exclude=*.jpeg --exclude=*.png --exclude=*.pdf dir* /5
FROM scratch as builder6
ADD --exclude=* dir* /6
FROM scratch
COPY --from=builder1 / /builder1
COPY --from=builder2 / /builder2
COPY --from=builder3 / /builder3
COPY --from=builder4 / /builder4
COPY --from=builder5 / /builder5
COPY --from=builder6 / /builder6
`;
  // BuildKit reads the Dockerfile from another directory than the context; so does this.
  const dockerfileDir = await makeContext(root(), { Dockerfile: dockerfile });
  const context = await makeContext(root(), {
    "dir1/file-101.png": "2",
    "dir1/file-102.txt": "3",
    "dir1/file-103.jpeg": "4",
    "dir2/file-201.pdf": "6",
    "dir2/file-202.jpeg": "7",
    "dir2/file-203.png": "8",
    "dir3/file-301.mp3": "9",
    "dir3/file-302.mpeg": "10",
    "dir4/file-401.txt": "11",
    "dir4/file-402.txt": { symlink: "file-401.txt" },
    "dir4/file-403.txt": { symlink: "file-404.txt" },
  });
  const { out } = await buildLocal(root(), context, { dockerfile: join(dockerfileDir, "Dockerfile") });
  const kept: Record<string, string> = {
    "builder1/1/dir1/file-102.txt": "3",
    "builder1/1/dir2/file-201.pdf": "6",
    "builder1/1/dir3/file-301.mp3": "9",
    "builder1/1/dir3/file-302.mpeg": "10",
    "builder1/1/dir4/file-401.txt": "11",
    "builder1/1/dir4/file-402.txt": "->file-401.txt",
    "builder1/1/dir4/file-403.txt": "->file-404.txt",
    "builder2/2/dir1/file-101.png": "2",
    "builder2/2/dir1/file-103.jpeg": "4",
    "builder2/2/dir2/file-202.jpeg": "7",
    "builder2/2/dir2/file-203.png": "8",
    "builder2/2/dir3/file-301.mp3": "9",
    "builder2/2/dir3/file-302.mpeg": "10",
    "builder3/3/file-302.mpeg": "10",
    "builder4/4/file-302.mpeg": "10",
    "builder5/5/file-102.txt": "3",
    "builder5/5/file-401.txt": "11",
    "builder5/5/file-402.txt": "->file-401.txt",
    "builder5/5/file-403.txt": "->file-404.txt",
  };
  const gone = [
    "builder1/1/dir1/file-101.png", "builder1/1/dir1/file-103.jpeg", "builder1/1/dir2/file-202.jpeg", "builder1/1/dir2/file-203.png",
    "builder2/2/dir1/file-102.txt", "builder2/2/dir2/file-201.pdf", "builder2/2/dir4/file-401.txt", "builder2/2/dir4/file-402.txt", "builder2/2/dir4/file-403.txt",
    "builder3/3/file-301.mp3",
    "builder4/4/file-101.png", "builder4/4/file-102.txt", "builder4/4/file-103.jpeg", "builder4/4/file-201.pdf", "builder4/4/file-202.jpeg", "builder4/4/file-203.png", "builder4/4/file-301.mp3", "builder4/4/dir4/file-401.txt", "builder4/4/dir4/file-402.txt", "builder4/4/dir4/file-403.txt",
    "builder5/5/file-101.png", "builder5/5/file-103.jpeg", "builder5/5/file-201.pdf", "builder5/5/file-202.jpeg", "builder5/5/file-203.png", "builder5/5/file-301.mp3", "builder5/5/file-302.mpeg",
  ];
  for (const [path, expected] of Object.entries(kept)) {
    const actual = expected.startsWith("->") ? `->${await readlink(join(out, path))}` : await readFile(join(out, path), "utf8");
    assert.is(actual, expected, path);
  }
  for (const path of gone) assert.not.ok(await readFile(join(out, path)).catch(() => undefined), `${path} is excluded`);
  const { readdir } = await import("node:fs/promises");
  assert.equal(await readdir(join(out, "builder6/6")).catch(() => []), []);
});

// Its invalidsyntax case (`#syntax=foobar`) needs a frontend image, and its invalidcopyfrom
// case an image that cannot be pulled: tsbuild reports that one without the COPY's line.
test("testErrorsSourceMap: an error points at the Dockerfile lines it comes from", async () => {
  const cases: Array<[string, string, number[]]> = [
    ["invalidenv", "from busybox\nenv", [2]],
    ["invalidrun", "from scratch\nenv foo=bar\nrun what", [3]],
    ["invalidcopy", "from scratch\nenv foo=bar\ncopy foo bar\nenv bar=baz", [3]],
    ["invalidflag", "from scratch\nenv foo=bar\ncopy --foo=bar / /\nenv bar=baz", [3]],
    ["invalidmultiline", "from scratch\nrun wh\\\nat\nenv bar=baz", [2, 3]],
  ];
  for (const [name, dockerfile, lines] of cases) {
    const context = await makeContext(root(), { Dockerfile: dockerfile });
    const error = await build({ context, worker: root().worker, pull: "never" }).catch((e: unknown) => e);
    let range: [number, number] | undefined;
    if (error instanceof DockerfileSyntaxError) range = [error.line, error.endLine];
    else if (error instanceof BuildFailure && error.step.location !== undefined) range = [error.step.location.range.start.line, error.step.location.range.end.line];
    assert.ok(range !== undefined, `${name}: ${String(error)}`);
    assert.equal([range[0], range[1]], [lines[0], lines[lines.length - 1]], name);
  }
});

test.run();
