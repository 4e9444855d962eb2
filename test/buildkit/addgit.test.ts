// Ported from moby/buildkit frontend/dockerfile/dockerfile_addgit_test.go (73ed6825).
// BuildKit serves a working repository with Go's http.FileServer (git's "dumb" HTTP
// protocol after `git update-server-info`); a static file server on 127.0.0.1 does the same
// here. BuildKit's test checks `git status` inside an alpine container after `apk add git`;
// there is no package mirror here, so that check runs on the exported files instead.
import { execFileSync } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import * as assert from "uvu/assert";
import { serveFiles } from "../helpers/serve-files.js";
import { buildError, buildImage, buildLocal, portedSuite } from "./ported.js";

const { test, root } = portedSuite("BuildKit dockerfile_addgit_test.go");

const GIT = ["-c", "user.name=test", "-c", "user.email=test", "-c", "init.defaultBranch=main"];
const git = (cwd: string, ...args: string[]) => execFileSync("git", [...GIT, ...args], { cwd, encoding: "utf8" }).trim();

/** A repository with commits tagged v0.0.1, v0.0.2, ... each writing `foo of <tag>` to foo. */
async function makeRepo(dir: string, tags: string[], format?: "sha256"): Promise<Record<string, string>> {
  await mkdir(dir, { recursive: true });
  git(dir, "init", "-q", ...(format === undefined ? [] : [`--object-format=${format}`]));
  const commits: Record<string, string> = {};
  for (const tag of tags) {
    await writeFile(join(dir, "foo"), `foo of ${tag}\n`);
    git(dir, "add", "foo");
    git(dir, "commit", "-q", "-m", tag);
    git(dir, "tag", tag);
    commits[tag] = git(dir, "rev-parse", tag);
  }
  git(dir, "update-server-info");
  return commits;
}

for (const format of [undefined, "sha256"] as const) {
  const name = format === "sha256" ? "testAddGitSHA256" : "testAddGitSHA1";
  test(`${name} (testAddGit): ADD of a tag, with --keep-git-dir, --chown and --checksum of the commit; a wrong or malformed checksum fails`, async () => {
    const repo = join(root().dir, `repo-${format ?? "sha1"}`);
    const commits = await makeRepo(repo, ["v0.0.1", "v0.0.2", "v0.0.3"], format);
    const server = await serveFiles(repo);
    try {
      const dockerfile = `FROM busybox
ADD ${server.url}/.git#v0.0.1 /x
RUN cd /x && \\
  [ "$(cat foo)" = "foo of v0.0.1" ]
ARG REPO="${server.url}/.git"
ARG TAG="v0.0.2"
ADD --keep-git-dir=true --chown=4242:8484 --checksum=${commits["v0.0.2"]} \${REPO}#\${TAG} /buildkit-chowned
USER 4242
RUN cd /buildkit-chowned && \\
  [ "$(cat foo)" = "foo of v0.0.2" ] && \\
  [ "$(stat -c %u foo)" = "4242" ] && \\
  [ "$(stat -c %g foo)" = "8484" ]
`;
      const { out } = await buildLocal(root(), { Dockerfile: dockerfile });
      assert.is(git(join(out, "buildkit-chowned"), "-c", `safe.directory=*`, "status", "-s"), "", "the kept .git matches the files");

      const withTag = (tag: string, checksum: string, keep: boolean, dest: string) =>
        `FROM busybox\nARG REPO="${server.url}/.git"\nARG TAG="${tag}"\nADD ${keep ? "--keep-git-dir " : ""}--checksum=${checksum} \${REPO}#\${TAG} ${dest}\n`;
      await buildImage(root(), { Dockerfile: `${withTag("v0.0.3", commits["v0.0.3"], false, "/nogitdir")}RUN [ -f /nogitdir/foo ]\nRUN [ "$(cat /nogitdir/foo)" = "foo of v0.0.3" ]\nRUN [ ! -d /nogitdir/.git ]\n` });
      await buildImage(root(), { Dockerfile: `${withTag("v0.0.2", commits["v0.0.2"], true, "/nogitdir")}RUN [ -f /nogitdir/foo ]\nRUN [ "$(cat /nogitdir/foo)" = "foo of v0.0.2" ]\nRUN [ -d /nogitdir/.git ]\n` });
      const byCommit = `FROM busybox\nARG REPO="${server.url}/.git"\nARG COMMIT="${commits["v0.0.3"]}"\nADD --keep-git-dir=true --checksum=${commits["v0.0.3"]} \${REPO}#\${COMMIT} /commitdir\nRUN [ -f /commitdir/foo ]\nRUN [ "$(cat /commitdir/foo)" = "foo of v0.0.3" ]\nRUN [ -d /commitdir/.git ]\n`;
      await buildImage(root(), { Dockerfile: byCommit });
      assert.match(await buildError(root(), { Dockerfile: withTag("v0.0.3", commits["v0.0.2"], false, "/faildir") }), "expected checksum to match");
      const garbage = await buildError(root(), { Dockerfile: withTag("v0.0.3", "foobar", false, "/faildir") });
      assert.match(garbage, "invalid checksum");
      assert.match(garbage, "expected hex commit hash");
    } finally {
      await server.close();
    }
  });
}

test("testAddGitChecksumCache: adding --checksum to a git ADD keeps its cache", async () => {
  const repo = join(root().dir, "repo-cache");
  const commits = await makeRepo(repo, ["v0.0.1", "v0.0.2"]);
  const server = await serveFiles(repo);
  try {
    const dockerfile = (checksum: string) =>
      `FROM busybox AS src\nADD --keep-git-dir ${checksum}${server.url}/.git#v0.0.2 /repo\nRUN head -c 16 /dev/urandom | base64 > /repo/unique.txt\nFROM scratch\nCOPY --from=src /repo/unique.txt /\n`;
    const first = await readFile(join((await buildLocal(root(), { Dockerfile: dockerfile("") })).out, "unique.txt"), "utf8");
    const second = await readFile(join((await buildLocal(root(), { Dockerfile: dockerfile(`--checksum=${commits["v0.0.2"]} `) })).out, "unique.txt"), "utf8");
    assert.is(second, first, "cache should be matched and unique file content should be the same");
  } finally {
    await server.close();
  }
});

test.run();
