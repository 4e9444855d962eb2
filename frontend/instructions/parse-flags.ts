import type { FlagNode, InstructionNode } from "../../parser/ast.js";
import { DockerfileSyntaxError } from "../../parser/syntax-error.js";
import { buildkitSuggestion, withSuggestion } from "../../util/did-you-mean.js";

/** How a flag takes its value: a boolean (`--link`, `--link=false`), one string, or a repeatable list. */
export type FlagKind = "bool" | "string" | "strings";

export type FlagSpec = Readonly<Record<string, FlagKind>>;

/** Parsed flag values by name; a flag not given is absent. */
export interface ParsedFlags {
  bools: Map<string, boolean>;
  strings: Map<string, string>;
  lists: Map<string, string[]>;
  /** Names in the order given, each once: BuildKit's FlagsUsed. */
  used: string[];
}

/**
 * Checks an instruction's flags against what it accepts, as BuildKit's BFlags does:
 * unknown flags, missing values, duplicates and bad booleans are errors at the flag.
 */
export function parseFlags(node: InstructionNode, spec: FlagSpec, options: { file: string }): ParsedFlags {
  const parsed: ParsedFlags = { bools: new Map(), strings: new Map(), lists: new Map(), used: [] };
  for (const flag of node.flags) {
    const fail = (reason: string, hint?: string) =>
      new DockerfileSyntaxError(reason, { file: options.file, line: flag.range.start.line, column: flag.range.start.column }, hint ? { hint } : {});
    const kind = spec[flag.name];
    if (kind === undefined) {
      const known = Object.keys(spec);
      const suggestion = buildkitSuggestion(flag.name, known, { caseSensitive: true });
      const hint = suggestion
        ? undefined
        : known.length > 0
          ? `${node.name.toUpperCase()} accepts ${known.map((k) => `--${k}`).join(", ")}`
          : `${node.name.toUpperCase()} takes no flags`;
      throw fail(withSuggestion(`unknown flag: ${flagLabel(flag)}`, suggestion), hint);
    }
    if (!parsed.used.includes(flag.name)) parsed.used.push(flag.name);
    if (kind === "bool") {
      if (parsed.bools.has(flag.name)) throw fail(`Duplicate flag specified: --${flag.name}`);
      const value = flag.value === undefined ? "true" : flag.value.toLowerCase();
      if (value !== "true" && value !== "false") {
        throw fail(`Expecting boolean value for flag ${flag.name}, not: ${flag.value}`, `Use --${flag.name} or --${flag.name}=false`);
      }
      parsed.bools.set(flag.name, value === "true");
      continue;
    }
    if (flag.value === undefined) throw fail(`Missing a value on flag: --${flag.name}`, `Write it as --${flag.name}=VALUE`);
    if (kind === "string") {
      if (parsed.strings.has(flag.name)) throw fail(`Duplicate flag specified: --${flag.name}`);
      parsed.strings.set(flag.name, flag.value);
    } else {
      const list = parsed.lists.get(flag.name) ?? [];
      list.push(flag.value);
      parsed.lists.set(flag.name, list);
    }
  }
  return parsed;
}

function flagLabel(flag: FlagNode): string {
  return `--${flag.name}`;
}
