import { createWriteStream } from "node:fs";
import { mkdir, mkdtemp, open, readFile, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join, resolve } from "node:path";
import type { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ChalkInstance } from "chalk";
import { extract } from "tar";
import { TsbuildError } from "../../errors.js";
import type { SecretSource } from "../../executor/types.js";
import { buildMetadata } from "../../build/build-metadata.js";
import type { BuildOptions } from "../../build/build.js";
import type { StepReport } from "../../solver/types.js";
import { BuildFailure } from "../../solver/build-failure.js";
import type { ProgressEvent } from "../../solver/types.js";
import { codeFrame } from "../code-frame.js";
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
    { name: "network", type: "string", valueName: "MODE", description: "Network of RUN steps: default, none or host" },
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
        stdinDir = await mkdtemp(join(tmpdir(), "tsbuild-stdin-"));
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
  const source = await readFile(dockerfile, "utf8").catch(() => undefined);
  if (source !== undefined) context.registerSource(basename(dockerfile), source);
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
  const renderer = options.quiet
    ? undefined
    : progress === "json"
      ? jsonRenderer(context.stderr)
      : progress === "tty"
        ? new TtyRenderer(context.stderr, (await import("chalk")).default)
        : new PlainRenderer(context.stderr);
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  const { build } = await import("../../build/build.js");
  const env = context.env;
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
    if (renderer instanceof PlainRenderer || renderer instanceof TtyRenderer) renderer.finish(result.names, result.imageId, result.durationMs);
    if (options.quiet) context.stdout.write(`${result.imageId}\n`);
    return 0;
  } catch (error) {
    if (renderer instanceof TtyRenderer) renderer.stop();
    if (error instanceof BuildFailure && (renderer instanceof PlainRenderer || renderer instanceof TtyRenderer)) renderer.failure(error, source);
    throw error;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

/**
 * `tsbuild build -`: standard input is a tar of the context (plain or gzip), or else the
 * Dockerfile itself with an empty context, as docker reads it. Returns the context dir.
 */
async function readStdinContext(stdin: Readable, dir: string): Promise<string> {
  const staged = join(dir, "stdin");
  await pipeline(stdin, createWriteStream(staged, { mode: 0o600 }));
  const context = join(dir, "context");
  await mkdir(context);
  const head = Buffer.alloc(512);
  const handle = await open(staged, "r");
  const { bytesRead } = await handle.read(head, 0, 512, 0).finally(() => handle.close());
  const isTar = (bytesRead >= 2 && head[0] === 0x1f && head[1] === 0x8b) || (bytesRead >= 262 && head.toString("latin1", 257, 262) === "ustar");
  if (isTar) await extract({ file: staged, cwd: context, strict: true });
  else await rename(staged, join(context, "Dockerfile"));
  return context;
}

/** BuildKit's plain progress: `#N [stage 1/3] RUN ...`, its output, then `#N DONE 0.3s` or `#N CACHED`. */
class PlainRenderer {
  readonly #out: Writable;
  readonly #phases = new Map<string, { step: number; started: number }>();
  readonly #partial = new Map<number, string>();
  #steps = 0;

  constructor(out: Writable) {
    this.#out = out;
  }

  event(event: ProgressEvent): void {
    switch (event.type) {
      case "phase-progress": {
        // Export, push and cache phases: `#N exporting to image` ... `#N DONE 0.4s`, as BuildKit shows them.
        if (event.progress.action === "start" && !this.#phases.has(event.name)) {
          this.#steps += 1;
          this.#phases.set(event.name, { step: this.#steps, started: performance.now() });
          this.#write(`#${this.#steps} ${event.name}`);
        } else if (event.progress.action === "done") {
          const phase = this.#phases.get(event.name);
          if (phase !== undefined) this.#write(`#${phase.step} DONE ${seconds(performance.now() - phase.started)}`);
        }
        break;
      }
      case "vertex-started":
        this.#steps = Math.max(this.#steps, event.step);
        this.#write(`#${event.step} ${event.name}`);
        if (event.missReason !== undefined) this.#write(`#${event.step} cache miss: ${event.missReason.message}`);
        break;
      case "vertex-cached":
        this.#steps = Math.max(this.#steps, event.step);
        this.#write(`#${event.step} ${event.name}`);
        this.#write(`#${event.step} CACHED`);
        break;
      case "vertex-log": {
        // Whole lines only, so the output of steps running side by side does not interleave mid-line.
        const text = (this.#partial.get(event.step) ?? "") + event.data.toString("utf8");
        const lines = text.split("\n");
        this.#partial.set(event.step, lines.pop()!);
        for (const line of lines) this.#write(`#${event.step} ${line}`);
        break;
      }
      case "vertex-completed":
        this.#flush(event.step);
        this.#write(`#${event.step} DONE ${seconds(event.durationMs)}`);
        break;
      case "vertex-failed":
        this.#flush(event.step);
        this.#write(`#${event.step} ERROR: ${(event.error.cause as Error | undefined)?.message ?? event.error.message}`);
        break;
      case "warning": {
        const at = event.location === undefined ? "" : ` (${event.location.file}:${event.location.range.start.line})`;
        this.#write(`WARNING: ${event.message}${at}`);
        break;
      }
    }
  }

  finish(names: string[], imageId: string, durationMs: number): void {
    const step = this.#steps + 1;
    this.#write(`#${step} exporting to image`);
    this.#write(`#${step} writing image ${imageId} done`);
    for (const name of names) this.#write(`#${step} naming to ${name} done`);
    this.#write(`#${step} DONE ${seconds(durationMs)} total`);
  }

  /** The failing step, its log's tail, and its Dockerfile line in a code frame. */
  failure(error: BuildFailure, source: string | undefined): void {
    const lines: string[] = [];
    if (error.logTail) lines.push("------", ` > ${error.step.name}:`, ...error.logTail.replace(/\n$/, "").split("\n"), "------");
    const location = error.step.location;
    if (location !== undefined && source !== undefined) {
      lines.push(`${location.file}:${location.range.start.line}`, "--------------------");
      lines.push(codeFrame(source, { line: location.range.start.line, column: location.range.start.column, endLine: location.range.end.line }));
      lines.push("--------------------");
    }
    if (error.exitCode !== undefined) lines.push(`exit status: ${error.exitCode}`);
    this.#out.write(`${lines.join("\n")}\n`);
  }

  #flush(step: number): void {
    const rest = this.#partial.get(step);
    if (rest) this.#write(`#${step} ${rest}`);
    this.#partial.delete(step);
  }

  #write(line: string): void {
    this.#out.write(`${line}\n`);
  }
}

interface TtyStep {
  name: string;
  state: "running" | "done" | "cached" | "failed";
  started: number;
  durationMs: number;
  lines: string[];
  partial: string;
  missReason: string | undefined;
}

/**
 * The live view on a terminal, in BuildKit's spirit: a header with the elapsed time and
 * counts, a line per step with its state and time, and the last lines of each running step,
 * redrawn in place (at most ten times a second) with ANSI cursor moves.
 */
class TtyRenderer {
  readonly #out: Writable;
  readonly #chalk: ChalkInstance;
  readonly #steps = new Map<number, TtyStep>();
  readonly #warnings: string[] = [];
  readonly #started = performance.now();
  #drawn = 0;
  #timer: NodeJS.Timeout | undefined;

  readonly #phases = new Map<string, number>();

  constructor(out: Writable, chalk: ChalkInstance) {
    this.#out = out;
    this.#chalk = chalk;
    this.#timer = setInterval(() => this.#draw(), 100);
    this.#timer.unref();
  }

  event(event: ProgressEvent): void {
    if (event.type === "warning") {
      this.#warnings.push(event.message);
      return;
    }
    if (event.type === "result" || event.type === "vertex-progress") return;
    if (event.type === "phase-progress") {
      // Export, push and cache phases are shown as steps after the build's own.
      let key = this.#phases.get(event.name);
      if (key === undefined) {
        key = -(this.#phases.size + 1);
        this.#phases.set(event.name, key);
        this.#steps.set(key, { name: event.name, state: "running", started: performance.now(), durationMs: 0, lines: [], partial: "", missReason: undefined });
      }
      const phase = this.#steps.get(key)!;
      if (event.progress.action === "done") Object.assign(phase, { state: "done", durationMs: performance.now() - phase.started });
      return;
    }
    let step = this.#steps.get(event.step);
    if (step === undefined) {
      step = { name: event.name, state: "running", started: performance.now(), durationMs: 0, lines: [], partial: "", missReason: undefined };
      this.#steps.set(event.step, step);
    }
    if (event.type === "vertex-started") step.missReason = event.missReason?.message;
    else if (event.type === "vertex-cached") step.state = "cached";
    else if (event.type === "vertex-completed") Object.assign(step, { state: "done", durationMs: event.durationMs });
    else if (event.type === "vertex-failed") Object.assign(step, { state: "failed", durationMs: event.durationMs });
    else if (event.type === "vertex-log") {
      const lines = (step.partial + event.data.toString("utf8")).split("\n");
      step.partial = lines.pop()!;
      step.lines.push(...lines);
      if (step.lines.length > TAIL_LINES) step.lines.splice(0, step.lines.length - TAIL_LINES);
    }
  }

  finish(names: string[], imageId: string, durationMs: number): void {
    this.stop();
    const c = this.#chalk;
    this.#out.write(`${c.blue(` => exporting to image ${c.dim(imageId.slice(0, 19))}`)}\n`);
    for (const name of names) this.#out.write(`${c.blue(` => naming to ${name}`)}\n`);
    this.#out.write(`${c.green(`Built in ${seconds(durationMs)}`)}\n`);
  }

  /** Stops redrawing, leaving the last frame on the screen. */
  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#draw();
    for (const warning of this.#warnings.splice(0)) this.#out.write(`${this.#chalk.yellow(`WARNING: ${warning}`)}\n`);
  }

  failure(error: BuildFailure, source: string | undefined): void {
    new PlainRenderer(this.#out).failure(error, source);
  }

  /** Cuts `text` so it and `reserved` more columns fit one terminal line: a wrapped line would break the redraw. */
  #fit(text: string, reserved: number): string {
    const columns = (this.#out as { columns?: number }).columns ?? 120;
    const room = Math.max(10, columns - 1 - reserved);
    const flat = text.replace(/[\x00-\x1f\x7f]/g, " ");
    return flat.length > room ? `${flat.slice(0, room - 1)}…` : flat;
  }

  #draw(): void {
    const c = this.#chalk;
    const now = performance.now();
    const steps = [...this.#steps.values()];
    const finished = steps.filter((step) => step.state !== "running").length;
    const lines = [c.bold(`[+] Building ${seconds(now - this.#started)} (${finished}/${steps.length})`)];
    for (const step of steps) {
      const time = step.state === "running" ? seconds(now - step.started) : step.state === "cached" ? "CACHED" : seconds(step.durationMs);
      const text = ` => ${step.name}`;
      const colour = step.state === "failed" ? c.red : step.state === "running" ? c.blue : step.state === "cached" ? c.dim : (s: string) => s;
      lines.push(colour(`${this.#fit(text, time.length + 1)} ${time}`));
      if (step.state === "running") {
        if (step.missReason !== undefined) lines.push(c.dim(this.#fit(`    cache miss: ${step.missReason}`, 0)));
        for (const line of [...step.lines, ...(step.partial ? [step.partial] : [])].slice(-TAIL_LINES)) lines.push(c.dim(this.#fit(`    ${line}`, 0)));
      }
    }
    // Back to the top of the last frame, clear it, draw the new one.
    const up = this.#drawn > 0 ? `\x1b[${this.#drawn}F\x1b[J` : "";
    this.#out.write(`${up}${lines.join("\n")}\n`);
    this.#drawn = lines.length;
  }
}

/** How many lines of a running step's output the live view shows. */
const TAIL_LINES = 5;

/** One JSON object a line; errors as their message, logs as text. */
function jsonRenderer(out: Writable): { event(event: ProgressEvent): void } {
  return {
    event(event) {
      const record: Record<string, unknown> = { ...event, time: new Date().toISOString() };
      if (event.type === "vertex-log") record.data = event.data.toString("utf8");
      if (event.type === "vertex-failed") record.error = event.error.message;
      out.write(`${JSON.stringify(record)}\n`);
    },
  };
}

/** A dry run's answer: one line per step, `CACHED` or `RUN` with why. */
function formatPlan(steps: readonly StepReport[]): string {
  const lines = steps.map((step) => (step.status === "cached" ? `CACHED  ${step.name}` : `RUN     ${step.name}${step.missReason === undefined ? "" : `  (${step.missReason.message})`}`));
  const running = steps.filter((step) => step.status !== "cached").length;
  return `${lines.join("\n")}${lines.length > 0 ? "\n" : ""}${running} of ${steps.length} steps would run\n`;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
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
    secrets[id] = file !== undefined ? { file: resolve(cwd, file) } : { env: fields.env ?? id };
  }
  return secrets;
}
