import { spawn } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createRuntimeSpec } from "../../executor/create-runtime-spec.js";
import { OciRuntime } from "../../executor/oci-runtime.js";
import { precompiledSeccomp, SECCOMP_BPF_ANNOTATION } from "../../executor/precompiled-seccomp.js";
import { runtimeCacheDir } from "../../executor/runtime-cache-dir.js";
import { probeRuntimes } from "../../executor/runtime-probe.js";
import { serializeRuntimeJson, type RuntimeSeccomp } from "../../executor/runtime-spec.js";
import { makeBusyboxRootfs } from "../helpers/busybox-rootfs.js";
import { runScript, withSandbox } from "./sandbox-fixture.js";

/** Everything allowed but mkdir: a filter whose effect a shell shows at once. */
const NO_MKDIR: RuntimeSeccomp = {
  defaultAction: "SCMP_ACT_ALLOW",
  syscalls: [{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 1 }],
};
const ALLOW_ALL: RuntimeSeccomp = { defaultAction: "SCMP_ACT_ALLOW", syscalls: [] };

async function crun(): Promise<OciRuntime> {
  const [probe] = await probeRuntimes({ names: ["crun"] });
  assert.ok(probe.usable, probe.reason);
  return new OciRuntime({ name: "crun", path: probe.path!, stateDir: "", hybridWrapper: probe.hybridWrapper });
}

/** Runs `mkdir` in a crun sandbox whose spec allows everything, with `program` (base64 BPF) in the annotation or none. */
async function tryMkdir(template: OciRuntime, dir: string, program: string | undefined): Promise<string> {
  const bundle = await mkdtemp(join(dir, "bundle-"));
  const rootfs = join(bundle, "rootfs");
  await makeBusyboxRootfs(rootfs);
  const spec = createRuntimeSpec(rootfs, {
    args: ["/bin/sh", "-c", "mkdir /made 2>/dev/null && echo made || echo refused"],
    env: ["PATH=/bin"],
    cwd: "/",
    user: { uid: 0, gid: 0, additionalGids: [], home: "/" },
    hostname: "seccomp-test",
    network: "none",
  });
  spec.linux.seccomp = ALLOW_ALL;
  if (program !== undefined) spec.annotations = { [SECCOMP_BPF_ANNOTATION]: program };
  await writeFile(join(bundle, "config.json"), serializeRuntimeJson(spec));
  const runtime = new OciRuntime({ name: "crun", path: template.path, stateDir: join(dir, "state"), hybridWrapper: template.hybridWrapper });
  const { file, args } = runtime.command(["run", "--bundle", bundle, `seccomp-test-${program === undefined ? "plain" : "bpf"}`]);
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (out += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (err += chunk));
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve(out) : reject(new Error(`crun exited ${code}: ${err}`))));
  });
}

test("crun compiles a profile once: the program is kept, and a sandbox given it is filtered by it, whatever its spec's profile says", async () => {
  const dir = await mkdtemp(join(tmpdir(), "tsbuild-seccomp-test-"));
  try {
    const runtime = await crun();
    const cacheDir = join(dir, "cache");
    const program = await precompiledSeccomp(runtime, NO_MKDIR, cacheDir);
    assert.ok(program !== undefined, "crun gave no program");
    const bytes = Buffer.from(program, "base64");
    assert.ok(bytes.length > 0 && bytes.length % 8 === 0, `${bytes.length} bytes is no BPF program`);
    const kept = await readdir(cacheDir);
    assert.is(kept.length, 1);
    assert.ok((await readFile(join(cacheDir, kept[0]))).equals(bytes));
    // The same profile again: the same program, no second file.
    assert.is(await precompiledSeccomp(runtime, NO_MKDIR, cacheDir), program);
    assert.is((await readdir(cacheDir)).length, 1);

    await mkdir(join(dir, "state"));
    assert.is(await tryMkdir(runtime, dir, undefined), "made\n");
    assert.is(await tryMkdir(runtime, dir, program), "refused\n");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("the executor's crun sandboxes get docker's profile precompiled, kept for later processes, and stay filtered", async () => {
  await withSandbox("crun", async (sandbox) => {
    const { stdout } = await runScript(sandbox, "grep '^Seccomp:' /proc/self/status; unshare -Urm true 2>/dev/null && echo unshared || echo unshare-refused");
    assert.is(stdout, "Seccomp:\t2\nunshare-refused\n");
    // Under /run for root (shared with other roots, which may keep programs of other profiles), else under the root.
    const kept = (await readdir(await runtimeCacheDir(sandbox.root))).filter((name) => /^seccomp-[0-9a-f]+\.bpf$/.test(name));
    assert.ok(kept.length >= 1);
  });
});

test.run();
