import type { Readable, Writable } from "node:stream";
import type { LogLevel } from "./global-options.js";

/** One flag of a command, from which both parsing and `--help` are generated. */
export interface OptionSpec {
  /** Long name without dashes: `file` for `--file`. */
  name: string;
  /** One-letter alias without the dash. */
  short?: string;
  type: "string" | "boolean";
  /** Repeatable (`-t a -t b`): the value is a list. */
  multiple?: boolean;
  /** The placeholder shown in help: `--file FILE`. */
  valueName?: string;
  /** The values it takes, when they are a fixed set (for shell completion). */
  values?: readonly string[];
  description: string;
}

/** What a command receives: parsed flags and positionals, and where to read and write. */
export interface CommandContext {
  options: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** From --debug / --log-level: "error" and "fatal" hide warnings, "debug" shows an error's causes. */
  logLevel: LogLevel;
  /** Tells the CLI a file's text, so an error in it is shown with a code frame. */
  registerSource(file: string, text: string): void;
}

/** A command module's export: its help text and options, and what it does. */
export interface Command {
  /** Full name as typed: `debug parse`. */
  name: string;
  summary: string;
  /** The usage line after `tsbuild `: `debug parse [-f FILE] [--format buildkit|json]`. */
  usage: string;
  options: OptionSpec[];
  /** Allowed positional count. */
  positionals: { min: number; max: number };
  /**
   * Flags end at the first positional: the rest is a command line of its own
   * (`tsbuild run IMAGE ls -l`, as docker parses run and exec).
   */
  stopAtFirstPositional?: boolean;
  /**
   * The exit status of any failure of tsbuild's own (usage, missing image, runtime refusing),
   * where the command's own status is the program's: docker run's 125. Cancelling still exits 130.
   */
  failureStatus?: number;
  /** Longer help shown under the usage, optional. */
  description?: string;
  /** Resolves to the exit status. Throws TsbuildError for failures the CLI reports. */
  run(context: CommandContext): Promise<number>;
}

/** A command as the CLI knows it before loading its module: enough for the command list. */
export interface CommandEntry {
  name: string;
  summary: string;
  load(): Promise<Command>;
}
