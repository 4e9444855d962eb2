import { statSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import type { Readable, Writable } from "node:stream";
import { isTsbuildError, TsbuildError } from "../errors.js";
import { didYouMean } from "../util/did-you-mean.js";
import type { Command, CommandContext, OptionSpec } from "./command.js";
import { COMMANDS, findCommand } from "./commands.js";
import { GLOBAL_OPTIONS, globalsFor, resolveLogLevel, takeLeadingGlobals, type LogLevel } from "./global-options.js";
import { reportError } from "./report-error.js";

/** Where the CLI reads and writes; the defaults are the process's own. */
export interface CliIo {
  stdin?: Readable;
  stdout?: Writable;
  stderr?: Writable;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

const HELP_OPTION: OptionSpec = { name: "help", short: "h", type: "boolean", description: "Show this help" };

/** `--help`, and `-h` too unless the command takes `-h` itself (`run -h` is the host name, as docker's). */
function helpOption(command: Command): OptionSpec {
  return command.options.some((spec) => spec.short === "h") ? { ...HELP_OPTION, short: undefined } : HELP_OPTION;
}

/** Runs one tsbuild invocation and resolves to its exit status. Never throws. */
export async function runCli(argv: readonly string[], io: CliIo = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  const sources = new Map<string, string>();
  let logLevel: LogLevel = "warn";
  let failureStatus: number | undefined;
  try {
    const leading = takeLeadingGlobals(argv);
    logLevel = resolveLogLevel(leading.options, io.env ?? process.env);
    const words = leading.rest;
    if (words.length === 0 || words[0] === "--help" || words[0] === "-h" || words[0] === "help") {
      stdout.write(globalHelp());
      return 0;
    }
    // `tsbuild -t x .` and `tsbuild .` build, as `docker build` would; a word that is
    // neither a flag nor an existing directory is still a mistyped command.
    const found = findCommand(words) ?? (isBuildArgument(words[0], io.cwd) ? findCommand(["build", ...words]) : undefined);
    if (!found) throw unknownCommand(words[0]);
    const command = await found.entry.load();
    failureStatus = command.failureStatus;
    const context = parseCommandLine(command, found.rest, { ...io, stdout, stderr });
    // A flag after the command word wins over the same flag before it.
    context.options = { ...leading.options, ...context.options };
    logLevel = resolveLogLevel(context.options, context.env);
    context.logLevel = logLevel;
    if (context.options.help) {
      stdout.write(commandHelp(command));
      return 0;
    }
    context.registerSource = (file, text) => sources.set(file, text);
    return await command.run(context);
  } catch (error) {
    const status = reportError(error, { write: (text) => stderr.write(text), sources, debug: logLevel === "debug" });
    return failureStatus === undefined || isTsbuildError(error, "CANCELLED") ? status : failureStatus;
  }
}

function parseCommandLine(command: Command, args: string[], io: CliIo & { stdout: Writable; stderr: Writable }): CommandContext {
  const specs = [...command.options, ...globalsFor(command.options), helpOption(command)];
  const config: Record<string, { type: "string" | "boolean"; short?: string; multiple?: boolean }> = {};
  for (const spec of specs) {
    config[spec.name] = { type: spec.type, ...(spec.short ? { short: spec.short } : {}), ...(spec.multiple ? { multiple: true } : {}) };
  }
  const split = command.stopAtFirstPositional ? firstPositional(args, specs) : args.length;
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: args.slice(0, split), options: config, allowPositionals: true, strict: true });
  } catch (error) {
    throw usageError(command, specs, error);
  }
  const rest = args.slice(split);
  const positionals = [...parsed.positionals, ...(rest[0] === "--" ? rest.slice(1) : rest)];
  if (!parsed.values.help && (positionals.length < command.positionals.min || positionals.length > command.positionals.max)) {
    const wanted = command.positionals.min === command.positionals.max ? `${command.positionals.min}` : `${command.positionals.min} to ${command.positionals.max}`;
    throw new TsbuildError("USAGE", `"tsbuild ${command.name}" takes ${wanted} argument(s), got ${positionals.length}`, {
      hint: `Usage: tsbuild ${command.usage}`,
    });
  }
  return {
    options: parsed.values as CommandContext["options"],
    positionals,
    stdin: io.stdin ?? process.stdin,
    stdout: io.stdout,
    stderr: io.stderr,
    env: io.env ?? process.env,
    cwd: io.cwd ?? process.cwd(),
    registerSource: () => undefined,
    logLevel: "warn",
  };
}

/** The index of the first positional argument, skipping flags and the values of string flags. */
function firstPositional(args: string[], specs: OptionSpec[]): number {
  const takesValue = (spec: OptionSpec | undefined) => spec?.type === "string";
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") return i;
    if (arg.startsWith("--")) {
      if (!arg.includes("=") && takesValue(specs.find((s) => s.name === arg.slice(2)))) i++;
    } else if (arg.startsWith("-") && arg.length > 1) {
      // A cluster like -it or -e K=V: a string flag takes the rest of the word, or the next one.
      for (let j = 1; j < arg.length; j++) {
        if (takesValue(specs.find((s) => s.short === arg[j]))) {
          if (j === arg.length - 1) i++;
          break;
        }
      }
    } else {
      return i;
    }
  }
  return args.length;
}

function usageError(command: Command, specs: OptionSpec[], error: unknown): TsbuildError {
  const message = error instanceof Error ? error.message : String(error);
  const unknown = /Unknown option '(-{1,2}[^']+)'/.exec(message)?.[1];
  if (unknown) {
    const suggestion = didYouMean(unknown.replace(/^-+/, ""), specs.map((s) => s.name));
    return new TsbuildError("USAGE", `Unknown flag "${unknown}" for "tsbuild ${command.name}"`, {
      hint: suggestion ? `Did you mean "--${suggestion}"?` : `Run "tsbuild ${command.name} --help" for its flags`,
    });
  }
  return new TsbuildError("USAGE", `${message.replace(/\.$/, "")}`, { hint: `Usage: tsbuild ${command.usage}` });
}

function isBuildArgument(word: string, cwd: string | undefined): boolean {
  if (word.startsWith("-")) return true;
  try {
    return statSync(resolve(cwd ?? process.cwd(), word)).isDirectory();
  } catch {
    return false;
  }
}

function unknownCommand(word: string): TsbuildError {
  const names = COMMANDS.map((c) => c.name.split(" ")[0]);
  const suggestion = didYouMean(word, new Set(names));
  return new TsbuildError("USAGE", `Unknown command "${word}"`, {
    hint: suggestion ? `Did you mean "tsbuild ${suggestion}"?` : `Run "tsbuild --help" for the list of commands`,
  });
}

function globalHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  const lines = COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return [
    "Usage: tsbuild [GLOBAL OPTIONS] COMMAND [OPTIONS]",
    "",
    "A daemonless Dockerfile build engine.",
    "",
    "Commands:",
    ...lines,
    "",
    "Global options (before or after the command):",
    ...optionLines(GLOBAL_OPTIONS),
    "",
    'Run "tsbuild COMMAND --help" for a command\'s flags; "tsbuild --version" for the version.',
    "",
  ].join("\n");
}

/** The `--help` text of one command, generated from its metadata. */
export function commandHelp(command: Command): string {
  const globals = globalsFor(command.options);
  return [
    `Usage: tsbuild ${command.usage}`,
    "",
    command.summary,
    ...(command.description ? ["", command.description] : []),
    "",
    "Options:",
    ...optionLines([...command.options, helpOption(command)]),
    ...(globals.length === 0 ? [] : ["", "Global options:", ...optionLines(globals)]),
    "",
  ].join("\n");
}

function optionLines(specs: readonly OptionSpec[]): string[] {
  const label = (s: OptionSpec) => `${s.short ? `-${s.short}, ` : "    "}--${s.name}${s.type === "string" ? ` ${s.valueName ?? "VALUE"}` : ""}`;
  const width = Math.max(...specs.map((s) => label(s).length));
  return specs.map((s) => `  ${label(s).padEnd(width)}  ${s.description}${s.multiple ? " (repeatable)" : ""}`);
}
