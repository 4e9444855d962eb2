import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeOwnedTempDir } from "../util/owned-temp-dir.js";
import { readIfReadableSync } from "../util/read-small-file.js";
import { createRuntimeSpec } from "./create-runtime-spec.js";
import { OciRuntime } from "./oci-runtime.js";
import { binaryBootIdentity } from "./probe-cache.js";
import { serializeRuntimeJson, type RuntimeSeccomp, type RuntimeSpec } from "./runtime-spec.js";

/**
 * crun compiles a spec's seccomp profile with libseccomp on every start: about two thirds
 * of a bare `crun run` on the CI machine (a start took 50 to 60 ms with the filter compiled
 * and 20 ms with it handed over ready). crun's own cache of compiled filters is not used by
 * 1.8, so the program is compiled once, by crun itself, and given to every later start in
 * crun's `run.oci.seccomp_bpf_data` annotation, which it loads as is (the profile stays in
 * the spec: a crun that does not know the annotation compiles it as before).
 *
 * `crun create` writes the program it is about to load to `<state>/<id>/seccomp.bpf`; a
 * container created over an empty rootfs (never started, then deleted) gives it. The result
 * is kept under the root per profile, crun binary and boot, as the runtime probe is.
 */
export const SECCOMP_BPF_ANNOTATION = "run.oci.seccomp_bpf_data";

const NEVER_STARTED = "tsbuild-never-started";

const memo = new Map<string, Promise<string | undefined>>();

/**
 * Adds the compiled form of `spec`'s seccomp profile to its annotations when `runtime` is
 * crun and the program could be made; otherwise leaves the spec as it is.
 */
export async function addPrecompiledSeccomp(spec: RuntimeSpec, runtime: OciRuntime, cacheDir: string): Promise<void> {
  const profile = spec.linux.seccomp;
  if (runtime.name !== "crun" || profile === undefined) return;
  const program = await precompiledSeccomp(runtime, profile, cacheDir);
  if (program !== undefined) spec.annotations = { ...spec.annotations, [SECCOMP_BPF_ANNOTATION]: program };
}

/** The base64 BPF program crun makes of `profile`, from memory, the cache file or crun; undefined when it cannot be had. */
export function precompiledSeccomp(runtime: OciRuntime, profile: RuntimeSeccomp, cacheDir: string): Promise<string | undefined> {
  const text = JSON.stringify(profile);
  const key = `${runtime.path}\0${runtime.hybridWrapper}\0${cacheDir}\0${text}`;
  let program = memo.get(key);
  if (program === undefined) {
    program = cachedProgram(runtime, profile, text, cacheDir);
    memo.set(key, program);
  }
  return program;
}

async function cachedProgram(runtime: OciRuntime, profile: RuntimeSeccomp, text: string, cacheDir: string): Promise<string | undefined> {
  // The program depends on the profile, the crun binary and the boot (the kernel, libseccomp as loaded).
  const identity = await binaryBootIdentity(runtime.path);
  if (identity === undefined) return undefined;
  const file = join(cacheDir, `seccomp-${createHash("sha256").update(`${identity}\0${text}`).digest("hex").slice(0, 32)}.bpf`);
  const saved = readIfReadableSync(file); // not made yet (or unreadable): make it
  if (saved !== undefined && validProgram(saved)) return saved.toString("base64");
  const made = await compileWithCrun(runtime, profile);
  if (made === undefined) return undefined;
  // Written whole then renamed, so a reader never sees half; a failure only costs compiling again.
  const tmp = `${file}.tmp-${randomBytes(6).toString("hex")}`;
  await mkdir(cacheDir, { recursive: true })
    .then(() => writeFile(tmp, made))
    .then(() => rename(tmp, file))
    .catch(() => rm(tmp, { force: true }));
  return made.toString("base64");
}

/** A classic BPF program: whole 8-byte instructions, at least one. */
function validProgram(bytes: Buffer): boolean {
  return bytes.length >= 8 && bytes.length % 8 === 0;
}

/** Creates (never starts) a container with `profile` over an empty rootfs and takes the program crun wrote; deletes it again. */
async function compileWithCrun(template: OciRuntime, profile: RuntimeSeccomp): Promise<Buffer | undefined> {
  const dir = await makeOwnedTempDir(tmpdir(), "seccomp");
  const runtime = new OciRuntime({ name: template.name, path: template.path, stateDir: join(dir, "state"), hybridWrapper: template.hybridWrapper });
  const id = `tsbuild-seccomp-${randomBytes(6).toString("hex")}`;
  try {
    await mkdir(join(dir, "rootfs"));
    // crun looks the process up at create: an empty executable file, never run.
    await writeFile(join(dir, "rootfs", NEVER_STARTED), "", { mode: 0o755 });
    const spec = createRuntimeSpec(join(dir, "rootfs"), {
      args: [`/${NEVER_STARTED}`],
      env: [],
      cwd: "/",
      user: { uid: 0, gid: 0, additionalGids: [], home: "/" },
      hostname: "tsbuild-seccomp",
      network: "none",
    });
    spec.linux.seccomp = profile;
    await writeFile(join(dir, "config.json"), serializeRuntimeJson(spec));
    const { file, args } = runtime.command(["create", "--bundle", dir, id]);
    const created = await new Promise<boolean>((resolve) => {
      const child = spawn(file, args, { stdio: "ignore" });
      child.on("error", () => resolve(false));
      child.on("close", (code) => resolve(code === 0));
    });
    if (!created) return undefined;
    const program = await readFile(join(runtime.stateDir, id, "seccomp.bpf")).catch(() => undefined); // a crun that writes none: compile per start
    return program !== undefined && validProgram(program) ? program : undefined;
  } finally {
    await runtime.delete(id).catch(() => undefined); // it may never have been created
    await rm(dir, { recursive: true, force: true });
  }
}
