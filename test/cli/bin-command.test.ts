import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { listMountPoints } from "../../snapshotter/mount-table.js";
import { runCommand } from "../../snapshotter/run-command.js";
import { builtRoot, repoRoot } from "../helpers/repo-root.js";
import { serveOverTls } from "../helpers/tls-server.js";

// The installed command is bin/tsbuild: it hands $NODE_EXTRA_CA_CERTS over as
// $TSBUILD_EXTRA_CA_CERTS, so that Node does not parse certificates on every start.
const bin = join(repoRoot(), "bin", "tsbuild");
const main = join(builtRoot(), "cli", "main.js");
const version = (JSON.parse(readFileSync(join(repoRoot(), "package.json"), "utf8")) as { version: string }).version;

function run(file: string, args: string[], env: Record<string, string>) {
  return spawnSync(file, args, { encoding: "utf8", env: { ...process.env, SOURCE_DATE_EPOCH: "", ...env } });
}

/** `run` without blocking this process, which serves the HTTPS requests. */
function runAsync(file: string, args: string[], env: Record<string, string>): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env: { ...process.env, SOURCE_DATE_EPOCH: "", ...env }, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (text: string) => (stderr += text));
    child.on("error", reject);
    child.on("close", (status) => resolve({ status, stderr }));
  });
}

test("Node does not read $NODE_EXTRA_CA_CERTS when the command starts, called directly or through a link", () => {
  const env = { NODE_EXTRA_CA_CERTS: "/nonexistent/tsbuild-ca.pem" };
  // Node itself warns at start that it cannot load the file: the command must not make it try.
  const direct = run(process.execPath, [main, "--version"], env);
  assert.match(direct.stderr, /Ignoring extra certs from `\/nonexistent\/tsbuild-ca.pem`/);
  const viaBin = run(bin, ["--version"], env);
  assert.is(viaBin.status, 0, viaBin.stderr);
  assert.is(viaBin.stderr, "");
  assert.is(viaBin.stdout, `tsbuild ${version}\n`);
  const dir = mkdtempSync(join(tmpdir(), "tsbuild-bin-"));
  try {
    // As `npm link` installs it: a symbolic link on PATH to the package's bin/tsbuild.
    symlinkSync(bin, join(dir, "tsbuild"));
    const linked = run(join(dir, "tsbuild"), ["--version"], env);
    assert.is(linked.stderr, "");
    assert.is(linked.stdout, `tsbuild ${version}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("ADD of an HTTPS URL trusts the CA named by $NODE_EXTRA_CA_CERTS, read only then", async () => {
  const server = await serveOverTls("fetched over tls\n");
  const dir = mkdtempSync(join(tmpdir(), "tsbuild-bin-"));
  try {
    const context = join(dir, "context");
    mkdirSync(context);
    writeFileSync(join(context, "Dockerfile"), `FROM scratch\nADD ${server.url}/hello.txt /hello.txt\n`);
    const args = ["build", "--root", join(dir, "root"), "-q", "--output", `type=local,dest=${join(dir, "out")}`, context];
    const untrusted = await runAsync(bin, args, {});
    assert.is.not(untrusted.status, 0, "the test CA is trusted by nothing else");
    assert.match(untrusted.stderr, /certificate/i);
    const trusted = await runAsync(bin, args, { NODE_EXTRA_CA_CERTS: server.caFile });
    assert.is(trusted.status, 0, trusted.stderr);
    assert.is(readFileSync(join(dir, "out", "hello.txt"), "utf8"), "fetched over tls\n");
  } finally {
    await server.close();
    for (const point of [...(await listMountPoints())].filter((p) => p.startsWith(`${dir}/`)).sort((a, b) => b.length - a.length)) {
      await runCommand("umount", [point]).catch(() => undefined);
    }
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
