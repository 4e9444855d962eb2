import { TsbuildError } from "../errors.js";
import type { OptionSpec } from "./command.js";

/**
 * Flags every command takes, before or after the command word: `tsbuild --root R images`
 * and `tsbuild images --root R` mean the same. docker reads its global flags only before
 * the command; users type them on either side, so tsbuild takes both.
 */
export const GLOBAL_OPTIONS: readonly OptionSpec[] = [
  { name: "root", type: "string", valueName: "DIR", description: "The store root (default $TSBUILD_ROOT, else /var/lib/tsbuild as root)" },
  { name: "debug", short: "D", type: "boolean", description: "Show the causes and stack of an error (--log-level debug)" },
  { name: "log-level", short: "l", type: "string", valueName: "LEVEL", values: ["debug", "info", "warn", "error", "fatal"], description: "debug, info, warn (default), error or fatal: error and fatal hide warnings" },
];

export type LogLevel = "debug" | "info" | "warn" | "error" | "fatal";
const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error", "fatal"];

/** The global flags that stand before the command word, and the words from the command on. */
export interface LeadingGlobals {
  options: Record<string, string | boolean>;
  rest: string[];
}

/**
 * Takes the global flags off the front of `argv` (`--root DIR`, `--root=DIR`, `-D`,
 * `-l LEVEL`), stopping at the first word that is not one: the command, or a build's own
 * flag or context in `tsbuild -t x .`.
 */
export function takeLeadingGlobals(argv: readonly string[]): LeadingGlobals {
  const options: Record<string, string | boolean> = {};
  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i];
    const eq = arg.indexOf("=");
    const spec = arg.startsWith("--")
      ? GLOBAL_OPTIONS.find((s) => s.name === arg.slice(2, eq === -1 ? undefined : eq))
      : GLOBAL_OPTIONS.find((s) => s.short !== undefined && arg === `-${s.short}`);
    if (spec === undefined) break;
    if (spec.type === "boolean") {
      if (eq !== -1) throw new TsbuildError("USAGE", `Flag "--${spec.name}" takes no value`);
      options[spec.name] = true;
    } else if (eq !== -1) {
      options[spec.name] = arg.slice(eq + 1);
    } else {
      const value = argv[i + 1];
      if (value === undefined) throw new TsbuildError("USAGE", `Flag "${arg}" needs a value`, { hint: `Use ${arg} ${spec.valueName ?? "VALUE"}` });
      options[spec.name] = value;
      i++;
    }
  }
  return { options, rest: argv.slice(i) };
}

/**
 * The global flags a command parses after its word: each one the command does not define
 * itself, without a one-letter alias the command uses for something else (`ps -l` may
 * mean --latest there).
 */
export function globalsFor(own: readonly OptionSpec[]): OptionSpec[] {
  const names = new Set(own.map((s) => s.name));
  const shorts = new Set(own.map((s) => s.short).filter((s) => s !== undefined));
  return GLOBAL_OPTIONS.filter((s) => !names.has(s.name)).map((s) => (s.short !== undefined && shorts.has(s.short) ? { ...s, short: undefined } : s));
}

/** The log level asked for: --debug wins, then --log-level, then $TSBUILD_LOG_LEVEL, else warn. */
export function resolveLogLevel(options: Record<string, unknown>, env: NodeJS.ProcessEnv): LogLevel {
  const asked = typeof options["log-level"] === "string" ? options["log-level"] : env.TSBUILD_LOG_LEVEL || "warn";
  if (!(LOG_LEVELS as readonly string[]).includes(asked)) {
    throw new TsbuildError("USAGE", `Cannot use --log-level "${asked}"`, { hint: `Use one of ${LOG_LEVELS.join(", ")}` });
  }
  return options.debug === true ? "debug" : (asked as LogLevel);
}
