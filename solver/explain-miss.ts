/**
 * Why a step missed the cache, in words (moby/buildkit#2567): the facts that went into its
 * key this time, compared with the last build of the same step.
 */

/** What went into a step's cache key, kept per step between builds. */
export interface StepComponents {
  /** The definition as canonical JSON. */
  definition: string;
  /** The cache keys of its inputs, and their step names. */
  inputs: string[];
  inputNames: string[];
  /** Per context read (COPY source, bind mount): `sourceLines` of the files read. */
  files: string[][];
}

/** One file that differs from the last build of a step. */
export interface FileChange {
  /** The path as the step reads it (relative to its context or source). */
  path: string;
  change: "changed" | "added" | "removed";
}

/**
 * Why a step missed, as data (`kind` and what it concerns) and as a sentence (`message`):
 * - `no-cache`: `--no-cache` (or `--no-cache-filter`) asked for it
 * - `no-record`: no earlier build of this step here
 * - `record-gone`: its key is the same as last time but the cache record is gone (pruned)
 * - `instruction-changed`: its instruction or options changed (`detail` says which part)
 * - `build-arg-changed`: a variable (build arg or ENV) in its environment changed
 * - `parent-changed`: a step it builds on changed
 * - `file-changed`: files it reads changed (at most the first few are listed in `message`)
 */
export type MissReason =
  | { kind: "no-cache" | "no-record" | "record-gone"; message: string }
  | { kind: "instruction-changed"; detail: "command" | "options" | "instruction"; message: string }
  | { kind: "build-arg-changed"; names: string[]; message: string }
  | { kind: "parent-changed"; parent: string; message: string }
  | { kind: "file-changed"; files: FileChange[]; message: string };

const MAX_FILES_NAMED = 3;

/**
 * Says why `current` missed: no earlier build, a changed instruction (which variable, for a
 * RUN), a changed parent step, or changed context files (which ones); `undefined` previous
 * means the step never ran here before. With nothing different, the record was pruned or
 * --no-cache asked for it.
 */
export function explainMiss(previous: StepComponents | undefined, current: StepComponents, options: { ignoreCache: boolean }): MissReason {
  if (options.ignoreCache) return { kind: "no-cache", message: "--no-cache" };
  if (previous === undefined) return { kind: "no-record", message: "no earlier build of this step" };
  if (previous.definition !== current.definition) return describeDefinitionChange(previous.definition, current.definition);
  for (let i = 0; i < current.inputs.length; i++) {
    if (previous.inputs[i] !== current.inputs[i] && current.inputNames[i] !== undefined && !isContext(current.inputNames[i])) {
      return { kind: "parent-changed", parent: current.inputNames[i], message: `it builds on "${current.inputNames[i]}", which changed` };
    }
  }
  const changes: FileChange[] = [];
  for (let i = 0; i < current.files.length; i++) changes.push(...fileChanges(previous.files[i] ?? [], current.files[i]));
  if (changes.length > 0) {
    const named = changes
      .slice(0, MAX_FILES_NAMED)
      .map((file) => `file ${JSON.stringify(file.path)}${file.change === "changed" ? "" : ` (${file.change})`}`)
      .join(", ");
    const message = changes.length > MAX_FILES_NAMED ? `${named} and ${changes.length - MAX_FILES_NAMED} more changed` : `${named} changed`;
    return { kind: "file-changed", files: changes, message };
  }
  return { kind: "record-gone", message: "its cache record is gone (pruned)" };
}

function isContext(name: string): boolean {
  return name.startsWith("[internal] load build context") || name.startsWith("[context ");
}

function describeDefinitionChange(before: string, after: string): MissReason {
  const a = JSON.parse(before) as Record<string, unknown>;
  const b = JSON.parse(after) as Record<string, unknown>;
  if (a.op === "exec" && b.op === "exec") {
    const envA = envMap(a.env);
    const envB = envMap(b.env);
    const names = [...new Set([...envA.keys(), ...envB.keys()])].filter((name) => envA.get(name) !== envB.get(name)).sort();
    if (names.length > 0 && JSON.stringify(a.args) === JSON.stringify(b.args)) {
      const message = `${names.length === 1 ? "variable" : "variables"} ${names.map((n) => `"${n}"`).join(", ")} changed (build arg or ENV)`;
      return { kind: "build-arg-changed", names, message };
    }
    if (JSON.stringify(a.args) !== JSON.stringify(b.args)) return { kind: "instruction-changed", detail: "command", message: "its command changed" };
    return { kind: "instruction-changed", detail: "options", message: "its RUN options changed" };
  }
  return { kind: "instruction-changed", detail: "instruction", message: "its instruction changed" };
}

function envMap(env: unknown): Map<string, string> {
  const map = new Map<string, string>();
  for (const entry of Array.isArray(env) ? (env as string[]) : []) {
    const eq = entry.indexOf("=");
    map.set(eq === -1 ? entry : entry.slice(0, eq), eq === -1 ? "" : entry.slice(eq + 1));
  }
  return map;
}

/** Each path whose line differs (lines start with the path as a JSON string). */
function fileChanges(before: readonly string[], after: readonly string[]): FileChange[] {
  // A line is a file's path and facts: the lines in both are unchanged files (nearly all of a
  // 20,000-file context), and only the others are parsed for their paths.
  const [had, has] = [new Set(before), new Set(after)];
  const pathOf = (line: string) => JSON.parse(line.slice(0, line.indexOf('" ') + 1)) as string;
  const gone = new Set(before.flatMap((line) => (has.has(line) ? [] : [pathOf(line)])));
  const changes: FileChange[] = [];
  const present = new Set<string>();
  for (const line of after) {
    if (had.has(line)) continue;
    const path = pathOf(line);
    present.add(path);
    changes.push({ path, change: gone.has(path) ? "changed" : "added" });
  }
  for (const path of gone) if (!present.has(path)) changes.push({ path, change: "removed" });
  return changes;
}
