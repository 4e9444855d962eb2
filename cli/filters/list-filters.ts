import { TsbuildError } from "../../errors.js";
import type { OptionSpec } from "../command.js";
import { compileGoPathMatch } from "../../util/go-path-match.js";

/** `--filter KEY=VALUE`, repeatable: values of one key are alternatives, keys must all match. */
export type ListFilters = Map<string, string[]>;

export function filterOption(keys: readonly string[]): OptionSpec {
  return { name: "filter", type: "string", multiple: true, valueName: "KEY=VALUE", description: `Only rows that match (${keys.join(", ")})` };
}

/** Parses the `--filter` flags of `command`, refusing keys it does not know (as docker does). */
export function parseFilters(values: unknown, command: string, keys: readonly string[]): ListFilters {
  const filters: ListFilters = new Map();
  for (const text of (values as string[] | undefined) ?? []) {
    const eq = text.indexOf("=");
    if (eq <= 0) throw new TsbuildError("USAGE", `Cannot parse flag "--filter": "${text}" is not KEY=VALUE`, { hint: `Use one of ${keys.map((k) => `${k}=…`).join(", ")}` });
    const key = text.slice(0, eq).trim().toLowerCase();
    if (!keys.includes(key)) throw new TsbuildError("USAGE", `Invalid filter "${key}" for "tsbuild ${command}"`, { hint: `Use one of ${keys.join(", ")}` });
    filters.set(key, [...(filters.get(key) ?? []), text.slice(eq + 1)]);
  }
  return filters;
}

/** `label=KEY` or `label=KEY=VALUE` against a row's labels; every label filter must match. */
export function matchesLabels(filters: ListFilters, labels: Readonly<Record<string, string>>): boolean {
  return (filters.get("label") ?? []).every((wanted) => {
    const eq = wanted.indexOf("=");
    return eq === -1 ? Object.prototype.hasOwnProperty.call(labels, wanted) : labels[wanted.slice(0, eq)] === wanted.slice(eq + 1);
  });
}

/** `true`/`false` of a boolean filter (`dangling=true`), or a usage error. */
export function booleanFilter(key: string, value: string): boolean {
  if (/^(true|1)$/i.test(value)) return true;
  if (/^(false|0)$/i.test(value)) return false;
  throw new TsbuildError("USAGE", `Invalid filter "${key}=${value}"`, { hint: `Use ${key}=true or ${key}=false` });
}

/** docker matches `reference=` patterns with Go's path.Match; a malformed pattern matches nothing. */
export function pathMatch(pattern: string, text: string): boolean {
  return compileGoPathMatch(pattern)?.(text) ?? false;
}
