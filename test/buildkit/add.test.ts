// Ported from moby/buildkit frontend/dockerfile/dockerfile_add_test.go (73ed6825).
import { createHash } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import * as assert from "uvu/assert";
import { tarOf } from "../helpers/tar-of.js";
import { startHttpServer } from "./http-server.js";
import { buildError, buildImage, buildLocal, listing, portedSuite } from "./ported.js";

const { test, root } = portedSuite("BuildKit dockerfile_add_test.go");

const fooTar = tarOf([{ path: "foo", body: "content0" }]);
const fooTarGz = gzipSync(fooTar);

test("testDockerfileAddArchive: ADD unpacks tar and tar.gz, not with --unpack=false, not for COPY, not from a URL unless --unpack=true", async () => {
  const dockerfile = (line: string) => `FROM scratch\n${line}\n`;
  let { out } = await buildLocal(root(), { Dockerfile: dockerfile("ADD t.tar /"), "t.tar": fooTar });
  assert.is(await readFile(join(out, "foo"), "utf8"), "content0");
  ({ out } = await buildLocal(root(), { Dockerfile: dockerfile("ADD t.tar.gz /"), "t.tar.gz": fooTarGz }));
  assert.is(await readFile(join(out, "foo"), "utf8"), "content0");
  ({ out } = await buildLocal(root(), { Dockerfile: dockerfile("ADD --unpack=false t.tar.gz /"), "t.tar.gz": fooTarGz }));
  assert.not.ok(await stat(join(out, "foo")).catch(() => undefined));
  assert.equal(await readFile(join(out, "t.tar.gz")), fooTarGz);
  ({ out } = await buildLocal(root(), { Dockerfile: dockerfile("COPY t.tar.gz /"), "t.tar.gz": fooTarGz }));
  assert.equal(await readFile(join(out, "t.tar.gz")), fooTarGz);

  const server = await startHttpServer({ "/t.tar.gz": { content: fooTarGz, etag: "e1" } });
  try {
    ({ out } = await buildLocal(root(), { Dockerfile: dockerfile(`ADD ${server.url}/t.tar.gz /`) }));
    assert.equal(await readFile(join(out, "t.tar.gz")), fooTarGz, "ADD from a URL does not extract");
    ({ out } = await buildLocal(root(), { Dockerfile: dockerfile(`ADD --unpack=true ${server.url}/t.tar.gz /dest/`) }));
    assert.is(await readFile(join(out, "dest/foo"), "utf8"), "content0");
    ({ out } = await buildLocal(root(), { Dockerfile: dockerfile(`ADD ${server.url}/t.tar.gz /newname.tar.gz`) }));
    assert.equal(await readFile(join(out, "newname.tar.gz")), fooTarGz);
  } finally {
    await server.close();
  }
});

test("testDockerfileAddArchiveWithImpliedParentDir: an archive's directory entries and files land under /", async () => {
  const archive = gzipSync(tarOf([{ path: "etc/dnf/" }, { path: "etc/dnf/dnf.conf", body: "content0" }]));
  const { out } = await buildLocal(root(), { Dockerfile: "FROM scratch\nADD t.tar.gz /\n", "t.tar.gz": archive });
  assert.is(await readFile(join(out, "etc/dnf/dnf.conf"), "utf8"), "content0");
});

test("testDockerfileAddArchiveThroughAbsoluteSymlink: a later archive writes through var/run -> /run inside the image", async () => {
  const rootfs = tarOf([{ path: "run/" }, { path: "var/" }, { path: "var/run", type: "symlink", linkpath: "/run", mode: 0o777 }]);
  const head = "ref: refs/heads/main\n";
  const payload = tarOf([
    { path: "var/run/act/" },
    { path: "var/run/act/actions/" },
    { path: "var/run/act/actions/broad/" },
    { path: "var/run/act/actions/broad/.git/" },
    { path: "var/run/act/actions/broad/.git/HEAD", body: head },
    { path: "var/run/act/actions/broad/.git/HEAD.link", type: "hardlink", linkpath: "var/run/act/actions/broad/.git/HEAD" },
  ]);
  const { out } = await buildLocal(root(), { Dockerfile: "FROM scratch\nADD rootfs.tar /\nADD payload.tar /\n", "rootfs.tar": rootfs, "payload.tar": payload });
  const file = join(out, "run/act/actions/broad/.git/HEAD");
  assert.is(await readFile(file, "utf8"), head);
  assert.is(await readFile(`${file}.link`, "utf8"), head);
  assert.is((await stat(`${file}.link`)).ino, (await stat(file)).ino, "the hard link is the same file");
});

test("testDockerfileAddChownArchive: --chown applies to the extracted files and the created destination", async () => {
  const { out } = await buildLocal(root(), { Dockerfile: "FROM scratch\nADD --chown=100:200 t.tar /out/\n", "t.tar": fooTar });
  assert.is(await readFile(join(out, "out/foo"), "utf8"), "content0");
  assert.equal(listing(out), ["out d 755 100:200", "out/foo f 644 100:200"]);
});

test("testDockerfileAddArchiveWildcard: ADD *.tar unpacks every match", async () => {
  const { out } = await buildLocal(root(), {
    Dockerfile: "FROM scratch\nADD *.tar /dest\n",
    "t.tar": fooTar,
    "b.tar": tarOf([{ path: "bar", body: "content1" }]),
  });
  assert.is(await readFile(join(out, "dest/foo"), "utf8"), "content0");
  assert.is(await readFile(join(out, "dest/bar"), "utf8"), "content1");
});

test("testDockerfileAddChownExpand: ADD --chown expands ARG and ENV", async () => {
  // Our busybox base names gid 65534 "nogroup" where docker.io's busybox says "nobody".
  const dockerfile = 'FROM busybox\nARG group\nENV owner 1000\nADD --chown=${owner}:${group} foo /\nRUN [ "$(stat -c "%u %G" /foo)" == "1000 nogroup" ]\n';
  await buildImage(root(), { Dockerfile: dockerfile, foo: "foo-contents" }, { buildArgs: { group: "nogroup" } });
});

test("testDockerfileADDFromURL: ADD from a URL saves the file under its name (or __unnamed__) with the server's Last-Modified time", async () => {
  const modTime = new Date(Math.floor((Date.now() - 24 * 3600 * 1000) / 1000) * 1000);
  const server = await startHttpServer({ "/foo": { content: "content1", etag: "e-foo" }, "/": { content: "content2", etag: "e-root", lastModified: modTime } });
  try {
    let { out } = await buildLocal(root(), { Dockerfile: `FROM scratch\nADD ${server.url}/foo /dest/\n` });
    assert.is(await readFile(join(out, "dest/foo"), "utf8"), "content1");
    ({ out } = await buildLocal(root(), { Dockerfile: `FROM scratch\nADD ${server.url}/ /dest/\n` }));
    assert.is(await readFile(join(out, "dest/__unnamed__"), "utf8"), "content2");
    assert.is((await stat(join(out, "dest/__unnamed__"))).mtime.getTime(), modTime.getTime());
  } finally {
    await server.close();
  }
});

test("testAddURLChmod: ADD --chmod from a URL, octal and from an ARG", async () => {
  const server = await startHttpServer({ "/foo": { content: "content1", etag: "e1" } });
  try {
    const url = `${server.url}/foo`;
    const dockerfile = `FROM busybox AS build
ADD --chmod=644 ${url} /tmp/foo1
ADD --chmod=755 ${url} /tmp/foo2
ADD --chmod=0413 ${url} /tmp/foo3
ARG mode
ADD --chmod=\${mode} ${url} /tmp/foo4
RUN stat -c "%04a" /tmp/foo1 >> /dest && stat -c "%04a" /tmp/foo2 >> /dest && stat -c "%04a" /tmp/foo3 >> /dest && stat -c "%04a" /tmp/foo4 >> /dest
FROM scratch
COPY --from=build /dest /dest
`;
    const { out } = await buildLocal(root(), { Dockerfile: dockerfile }, { buildArgs: { mode: "400" } });
    assert.is(await readFile(join(out, "dest"), "utf8"), "0644\n0755\n0413\n0400\n");
  } finally {
    await server.close();
  }
});

test("testAddInvalidChmod: an --chmod that is not octal or too large is refused", async () => {
  for (const mode of ["64a", "10000"]) {
    const message = await buildError(root(), { Dockerfile: `FROM scratch\nADD --chmod=${mode} foo /\n`, foo: "foo-contents" });
    assert.match(message, `invalid chmod parameter: '${mode}'. it should be octal string and between 0 and 07777`);
  }
});

test("testAddChecksum: ADD --checksum accepts the right digest (also from ENV) and refuses a wrong or unsupported one", async () => {
  const server = await startHttpServer({ "/foo": { content: "content1", etag: "e1" } });
  try {
    const url = `${server.url}/foo`;
    const hex = createHash("sha256").update("content1").digest("hex");
    await buildImage(root(), { Dockerfile: `FROM scratch\nADD --checksum=sha256:${hex} ${url} /tmp/foo\n` });
    await buildImage(root(), { Dockerfile: `FROM scratch\nENV DIGEST=sha256:${hex}\nENV LINK=${url}\nADD --checksum=\${DIGEST} \${LINK} /tmp/foo\n` });
    const empty = createHash("sha256").digest("hex");
    assert.match(await buildError(root(), { Dockerfile: `FROM scratch\nADD --checksum=sha256:${empty} ${url} /tmp/foo\n` }), /digest mismatch/i);
    for (const checksum of ["md5:7e55db001d319a94b0b713529a756623", `unknown:${hex}`, hex]) {
      assert.match(await buildError(root(), { Dockerfile: `FROM scratch\nADD --checksum=${checksum} ${url} /tmp/foo\n` }), /unsupported digest algorithm|invalid checksum digest format/);
    }
  } finally {
    await server.close();
  }
});

test.run();
