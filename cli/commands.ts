import type { CommandEntry } from "./command.js";

/**
 * Every command, with its one-line summary. Modules load only when their command runs,
 * so start-up (and `tsbuild --version`) does not pay for the parser, the store or chalk.
 */
export const COMMANDS: readonly CommandEntry[] = [
  {
    name: "info",
    summary: "Show the root, the snapshotter and the OCI runtimes this host gives tsbuild",
    load: async () => (await import("./commands/info.js")).infoCommand,
  },
  {
    name: "debug parse",
    summary: "Print the parsed Dockerfile (BuildKit's dump format, or JSON with source ranges)",
    load: async () => (await import("./commands/debug-parse.js")).debugParseCommand,
  },
  {
    name: "debug expand",
    summary: "Expand a word as a Dockerfile instruction would ($VAR, ${VAR:-x}, quotes)",
    load: async () => (await import("./commands/debug-expand.js")).debugExpandCommand,
  },
];

/** Finds the longest command name that `argv` starts with (`debug parse` before `debug`). */
export function findCommand(argv: readonly string[]): { entry: CommandEntry; rest: string[] } | undefined {
  let found: { entry: CommandEntry; rest: string[] } | undefined;
  for (const entry of COMMANDS) {
    const words = entry.name.split(" ");
    if (words.every((word, i) => argv[i] === word) && (!found || words.length > found.entry.name.split(" ").length)) {
      found = { entry, rest: argv.slice(words.length) };
    }
  }
  return found;
}
