import { createWriteStream, statSync } from "node:fs";
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join, resolve } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { TsbuildError } from "../../errors.js";
import { makeOwnedTempDir } from "../../util/owned-temp-dir.js";
import type { SecretSource } from "../../executor/types.js";
import { isTarArchive } from "../../oci/is-tar-archive.js";
import { extractArchive } from "../../snapshotter/extract-archive.js";
import { readDockerfile } from "../../solver/read-dockerfile.js";
import { buildMetadata } from "../../build/build-metadata.js";
import type { BuildOptions } from "../../build/build.js";
import type { ProgressEvent, StepReport } from "../../solver/types.js";
import { createProgressRenderer, isCancellation } from "../progress/progress-renderer.js";
import { checkOutputFile } from "../check-output-file.js";
import { parseResourceLimits, RESOURCE_LIMIT_OPTIONS } from "../resource-limits.js";
import { parseAllowFlags, parseSshFlags } from "../entitlement-flags.js";
import type { Command, CommandContext } from "../command.js";

export const buildCommand: Command = {
  name: "build",
  summary: "Build an image from a Dockerfile and a context directory",
  usage: "build [-f FILE] [-t NAME]... [--build-arg K=V]... [--target STAGE] [--no-cache] [--progress auto|tty|plain|json] [-o SPEC] [--secret SPEC]... [--ssh ID[=SOCKET]]... [--allow ENTITLEMENT]... CONTEXT|-",
  description: 'Also runs as "tsbuild [OPTIONS] CONTEXT". CONTEXT "-" reads a tar of the context (or a Dockerfile alone) from standard input. Progress goes to stderr; -q prints only the image id on stdout.',
  options: [
    { name: "file", short: "f", type: "string", valueName: "FILE", description: "The Dockerfile (default CONTEXT/Dockerfile)" },
    { name: "tag", short: "t", type: "string", multiple: true, valueName: "NAME", description: "Name the image (name:tag)" },
    { name: "build-arg", type: "string", multiple: true, valueName: "K=V", description: "Set a build argument" },
    { name: "label", type: "string", multiple: true, valueName: "K=V", description: "Set a label on the image" },
    { name: "target", type: "string", valueName: "STAGE", description: "Build this stage (default the last)" },
    { name: "no-cache", type: "boolean", description: "Run every step, even when the cache has it" },
    { name: "progress", type: "string", valueName: "TYPE", description: "auto (default: tty on a terminal, else plain), tty, plain, or json: one event a line" },
    { name: "secret", type: "string", multiple: true, valueName: "SPEC", description: "A secret for RUN --mount=type=secret: id=ID,src=FILE or id=ID,env=VAR" },
    { name: "ssh", type: "string", multiple: true, valueName: "ID[=SOCKET]", description: "An ssh agent for RUN --mount=type=ssh: default (uses $SSH_AUTH_SOCK), ID=SOCKET" },
    { name: "allow", type: "string", multiple: true, valueName: "ENTITLEMENT", description: "Allow security.insecure (RUN --security=insecure); network.host is accepted and not needed" },
    { name: "network", type: "string", valueName: "MODE", values: ["default", "none", "host"], description: "Network of RUN steps: default (its own, outbound access, no way to the host's 127.0.0.1), host or none" },
    ...RESOURCE_LIMIT_OPTIONS,
    { name: "output", short: "o", type: "string", valueName: "SPEC", description: "Also export: type=local,dest=DIR (or just DIR), type=docker|oci,dest=FILE" },
    { name: "no-cache-filter", type: "string", multiple: true, valueName: "STAGE", description: "Run every step of this stage, even when the cache has it" },
    { name: "build-context", type: "string", multiple: true, valueName: "NAME=DIR", description: "A named context directory (COPY --from=NAME, FROM NAME)" },
    { name: "iidfile", type: "string", valueName: "FILE", description: "Write the image id to FILE" },
    { name: "metadata-file", type: "string", valueName: "FILE", description: "Write the build's result as JSON to FILE" },
    { name: "quiet", short: "q", type: "boolean", description: "Print only the image id" },
    { name: "platform", type: "string", valueName: "PLATFORM", description: "Target platform(s): linux/arm64, or several (linux/amd64,linux/arm64) for one multi-platform image" },
    { name: "pull", type: "boolean", description: "Check the registry for newer base images (default: pull only those the store lacks)" },
    { name: "cache-from", type: "string", multiple: true, valueName: "SPEC", description: "Import build cache: type=registry,ref=NAME or type=local,src=DIR" },
    { name: "cache-to", type: "string", multiple: true, valueName: "SPEC", description: "Export build cache: type=registry,ref=NAME or type=local,dest=DIR, with mode=min (default) or max" },
    { name: "push", type: "boolean", description: "Push every -t name after the build" },
    { name: "dry-run", type: "boolean", description: "Say which steps are cached and which would run, and why; run nothing, write nothing" },
    { name: "root", type: "string", valueName: "DIR", description: "The store root (default $TSBUILD_ROOT, else /var/lib/tsbuild as root)" },
  ],
  positionals: { min: 1, max: 1 },
  async run(context) {
    const { options } = context;
    let stdinDir: string | undefined;
    try {
      let contextDir = resolve(context.cwd, context.positionals[0]);
      if (context.positionals[0] === "-") {
        stdinDir = await makeOwnedTempDir(tmpdir(), "stdin");
        contextDir = await readStdinContext(context.stdin, stdinDir);
      }
      // -f names a file of the working directory, or of the tar when the context came on stdin.
      const file = options.file as string | undefined;
      const dockerfile = file === undefined ? join(contextDir, "Dockerfile") : resolve(stdinDir === undefined ? context.cwd : contextDir, file);
      return await runBuild(context, contextDir, dockerfile);
    } finally {
      if (stdinDir !== undefined) await rm(stdinDir, { recursive: true, force: true });
    }
  },
};

async function runBuild(context: CommandContext, contextDir: string, dockerfile: string): Promise<number> {
  const { options } = context;
  // For code frames; a Dockerfile that cannot be read is reported by the build itself.
  const source = await readDockerfile(dockerfile).catch(() => undefined);
  if (source !== undefined) context.registerSource(basename(source.path), source.text);
  const asked = (options.progress as string | undefined) ?? "auto";
  if (asked !== "plain" && asked !== "json" && asked !== "auto" && asked !== "tty") {
    throw new TsbuildError("USAGE", `Cannot use --progress "${asked}": use auto, tty, plain or json`);
  }
  // auto: the live view on a terminal, plain lines for CI logs and pipes, as BuildKit chooses.
  const progress = asked === "auto" ? ((context.stderr as { isTTY?: boolean }).isTTY ? "tty" : "plain") : asked;
  const network = options.network as string | undefined;
  if (network !== undefined && !["default", "none", "host"].includes(network)) {
    throw new TsbuildError("USAGE", `Cannot use --network "${network}": use default, none or host`);
  }
  const limits = parseResourceLimits(options);
  const { parseCacheSpec } = await import("../../solver/cache-location.js");
  const cacheFrom = ((options["cache-from"] as string[] | undefined) ?? []).map((spec) => parseCacheSpec(spec, { flag: "--cache-from", cwd: context.cwd }));
  const cacheTo = ((options["cache-to"] as string[] | undefined) ?? []).map((spec) => parseCacheSpec(spec, { flag: "--cache-to", cwd: context.cwd }));
  const renderer = options.quiet ? undefined : await createProgressRenderer(progress, context.stderr, { warnings: context.logLevel !== "error" && context.logLevel !== "fatal" });
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  const { build } = await import("../../build/build.js");
  const env = context.env;
  if (options.iidfile !== undefined) await checkOutputFile("--iidfile", resolve(context.cwd, options.iidfile as string));
  if (options["metadata-file"] !== undefined) await checkOutputFile("--metadata-file", resolve(context.cwd, options["metadata-file"] as string));
  const buildArgs = keyValues(options["build-arg"], "--build-arg", env);
  if (env.SOURCE_DATE_EPOCH !== undefined && buildArgs.SOURCE_DATE_EPOCH === undefined) buildArgs.SOURCE_DATE_EPOCH = env.SOURCE_DATE_EPOCH;
  try {
    const buildOptions: BuildOptions = {
      context: contextDir,
      dockerfile,
      tags: (options.tag as string[] | undefined) ?? [],
      buildArgs,
      labels: keyValues(options.label, "--label", env),
      ...(options.target === undefined ? {} : { target: options.target as string }),
      ...(options["no-cache"] ? { noCache: true } : options["no-cache-filter"] ? { noCache: options["no-cache-filter"] as string[] } : {}),
      contexts: namedContexts((options["build-context"] as string[] | undefined) ?? [], context.cwd),
      ...(network === undefined ? {} : { network: network as "default" | "none" | "host" }),
      ...(limits === undefined ? {} : { limits }),
      secrets: parseSecrets((options.secret as string[] | undefined) ?? [], context.cwd),
      ssh: await parseSshFlags((options.ssh as string[] | undefined) ?? [], { cwd: context.cwd, env }),
      allow: parseAllowFlags((options.allow as string[] | undefined) ?? []),
      ...(options.root === undefined ? {} : { root: options.root as string }),
      ...(options.platform === undefined ? {} : { platform: options.platform as string }),
      ...(options.pull ? { pull: "always" as const } : {}),
      ...(cacheFrom.length === 0 ? {} : { cacheFrom }),
      ...(cacheTo.length === 0 ? {} : { cacheTo }),
      ...(options.push ? { push: true } : {}),
      env,
      ...(options.output === undefined ? {} : { output: parseOutput(options.output as string, context.cwd) }),
      signal: abort.signal,
      ...(renderer === undefined ? {} : { onProgress: (event: ProgressEvent) => renderer.event(event) }),
    };
    if (options["dry-run"]) {
      const plan = await build({ ...buildOptions, dryRun: true, onProgress: () => undefined });
      context.stdout.write(progress === "json" ? `${JSON.stringify(plan.steps)}\n` : formatPlan(plan.steps));
      return 0;
    }
    const result = await build(buildOptions);
    if (options.iidfile !== undefined) await writeFile(resolve(context.cwd, options.iidfile as string), result.imageId);
    if (options["metadata-file"] !== undefined) await writeFile(resolve(context.cwd, options["metadata-file"] as string), `${JSON.stringify(buildMetadata(result), null, 2)}\n`);
    renderer?.finish({ names: result.names, imageId: result.imageId, durationMs: result.durationMs });
    if (options.quiet) context.stdout.write(`${result.imageId}\n`);
    return 0;
  } catch (error) {
    renderer?.fail(error, source?.text);
    // Ctrl-C is no failure of a step: say it was cancelled, as buildx does, and exit 130.
    if (abort.signal.aborted && isCancellation(error)) throw new TsbuildError("CANCELLED", "Build cancelled", { cause: error });
    throw error;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

/**
 * `tsbuild build -`: standard input is a tar of the context (plain or compressed), or else the
 * Dockerfile itself with an empty context, as docker reads it. Returns the context dir.
 */
async function readStdinContext(stdin: Readable, dir: string): Promise<string> {
  const staged = join(dir, "stdin");
  await pipeline(stdin, createWriteStream(staged, { mode: 0o600 }));
  const context = join(dir, "context");
  await mkdir(context);
  if (await isTarArchive(staged)) await extractArchive(staged, context);
  else await rename(staged, join(context, "Dockerfile"));
  return context;
}

/** `K=V` flags; a bare `K` takes the value from the environment, as docker's --build-arg does. */
function keyValues(values: CommandContext["options"][string], flag: string, env: NodeJS.ProcessEnv): Record<string, string> {
  const result: Record<string, string> = {};
  for (const text of (values as string[] | undefined) ?? []) {
    const eq = text.indexOf("=");
    const key = eq === -1 ? text : text.slice(0, eq);
    if (key === "") throw new TsbuildError("USAGE", `Cannot parse flag "${flag}": "${text}" has no name`);
    if (eq === -1) {
      const value = env[key];
      if (value !== undefined) result[key] = value;
    } else {
      result[key] = text.slice(eq + 1);
    }
  }
  return result;
}

/** `--build-context name=DIR` (directories only, for now). */
function namedContexts(specs: readonly string[], cwd: string): Record<string, string> {
  const contexts: Record<string, string> = {};
  for (const spec of specs) {
    const eq = spec.indexOf("=");
    if (eq <= 0 || eq === spec.length - 1) throw new TsbuildError("USAGE", `Cannot parse flag "--build-context": "${spec}" is not NAME=DIR`);
    contexts[spec.slice(0, eq)] = resolve(cwd, spec.slice(eq + 1));
  }
  return contexts;
}

/** `--output type=local,dest=DIR`, or a bare directory, as buildx reads it. */
function parseOutput(spec: string, cwd: string): { type: "local" | "docker" | "oci"; dest: string } {
  if (!spec.includes("=")) return { type: "local", dest: resolve(cwd, spec) };
  const fields = Object.fromEntries(spec.split(",").map((part) => [part.slice(0, part.indexOf("=")).trim(), part.slice(part.indexOf("=") + 1)]));
  const type = fields.type ?? "local";
  if (type !== "local" && type !== "docker" && type !== "oci") {
    throw new TsbuildError("USAGE", `Cannot use --output "${spec}": type "${type}" is not supported`, { hint: "Use type=local,dest=DIR or type=docker|oci,dest=FILE" });
  }
  if (!fields.dest) throw new TsbuildError("USAGE", `Cannot parse flag "--output": "${spec}" has no dest`);
  return { type, dest: resolve(cwd, fields.dest) };
}

/** `--secret id=ID,src=FILE` / `id=ID,env=VAR` / `id=ID` (the variable of that name), as buildx reads them. */
export function parseSecrets(specs: readonly string[], cwd: string): Record<string, SecretSource> {
  const secrets: Record<string, SecretSource> = {};
  for (const spec of specs) {
    const fields: Record<string, string> = {};
    for (const part of spec.split(",")) {
      const eq = part.indexOf("=");
      if (eq === -1) throw new TsbuildError("USAGE", `Cannot parse flag "--secret": "${part}" is not key=value`, { hint: "Use --secret id=ID,src=FILE" });
      fields[part.slice(0, eq).trim().toLowerCase()] = part.slice(eq + 1);
    }
    const id = fields.id;
    if (id === undefined || id === "") throw new TsbuildError("USAGE", `Cannot parse flag "--secret": "${spec}" has no id`, { hint: "Use --secret id=ID,src=FILE" });
    const file = fields.src ?? fields.source;
    for (const key of Object.keys(fields)) {
      if (!["id", "src", "source", "env", "type"].includes(key)) throw new TsbuildError("USAGE", `Cannot parse flag "--secret": unknown key "${key}"`);
    }
    if (file !== undefined) {
      // As buildx does: a secret file that is not there is a mistake, not an absent secret.
      const path = resolve(cwd, file);
      const found = statSync(path, { throwIfNoEntry: false });
      if (found === undefined) throw new TsbuildError("FILE_NOT_FOUND", `Cannot use secret "${id}": file "${path}" does not exist`, { hint: `Check the path in --secret ${spec}` });
      if (!found.isFile()) throw new TsbuildError("USAGE", `Cannot use secret "${id}": "${path}" is not a regular file`, { hint: "A secret is one file" });
    }
    secrets[id] = file !== undefined ? { file: resolve(cwd, file) } : { env: fields.env ?? id };
  }
  return secrets;
}

/** A dry run's answer: one line per step, `CACHED` or `RUN` with why. */
function formatPlan(steps: readonly StepReport[]): string {
  const lines = steps.map((step) => (step.status === "cached" ? `CACHED  ${step.name}` : `RUN     ${step.name}${step.missReason === undefined ? "" : `  (${step.missReason.message})`}`));
  const running = steps.filter((step) => step.status !== "cached").length;
  return `${lines.join("\n")}${lines.length > 0 ? "\n" : ""}${running} of ${steps.length} steps would run\n`;
}
