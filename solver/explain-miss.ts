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

const MAX_FILES_NAMED = 3;

/**
 * Says why `current` missed: no earlier build, a changed instruction (which variable, for a
 * RUN), a changed parent step, or changed context files (which ones); `undefined` previous
 * means the step never ran here before. With nothing different, the record was pruned or
 * --no-cache asked for it.
 */
export function explainMiss(previous: StepComponents | undefined, current: StepComponents, options: { ignoreCache: boolean }): string {
  if (options.ignoreCache) return "--no-cache";
  if (previous === undefined) return "no earlier build of this step";
  if (previous.definition !== current.definition) return describeDefinitionChange(previous.definition, current.definition);
  for (let i = 0; i < current.inputs.length; i++) {
    if (previous.inputs[i] !== current.inputs[i] && current.inputNames[i] !== undefined && !isContext(current.inputNames[i])) {
      return `it builds on "${current.inputNames[i]}", which changed`;
    }
  }
  const changes: string[] = [];
  for (let i = 0; i < current.files.length; i++) changes.push(...fileChanges(previous.files[i] ?? [], current.files[i]));
  if (changes.length > 0) {
    const named = changes.slice(0, MAX_FILES_NAMED).join(", ");
    return changes.length > MAX_FILES_NAMED ? `${named} and ${changes.length - MAX_FILES_NAMED} more changed` : `${named} changed`;
  }
  return "its cache record is gone (pruned)";
}

function isContext(name: string): boolean {
  return name.startsWith("[internal] load build context") || name.startsWith("[context ");
}

function describeDefinitionChange(before: string, after: string): string {
  const a = JSON.parse(before) as Record<string, unknown>;
  const b = JSON.parse(after) as Record<string, unknown>;
  if (a.op === "exec" && b.op === "exec") {
    const envA = envMap(a.env);
    const envB = envMap(b.env);
    const names = [...new Set([...envA.keys(), ...envB.keys()])].filter((name) => envA.get(name) !== envB.get(name)).sort();
    if (names.length > 0 && JSON.stringify(a.args) === JSON.stringify(b.args)) {
      return `${names.length === 1 ? "variable" : "variables"} ${names.map((n) => `"${n}"`).join(", ")} changed (build arg or ENV)`;
    }
    if (JSON.stringify(a.args) !== JSON.stringify(b.args)) return "its command changed";
    return "its RUN options changed";
  }
  return "its instruction changed";
}

function envMap(env: unknown): Map<string, string> {
  const map = new Map<string, string>();
  for (const entry of Array.isArray(env) ? (env as string[]) : []) {
    const eq = entry.indexOf("=");
    map.set(eq === -1 ? entry : entry.slice(0, eq), eq === -1 ? "" : entry.slice(eq + 1));
  }
  return map;
}

/** `file "a/b" changed|added|removed` for each path whose line differs. */
function fileChanges(before: readonly string[], after: readonly string[]): string[] {
  const parse = (lines: readonly string[]) => new Map(lines.map((line) => [line.slice(0, line.indexOf('" ') + 1), line]));
  const a = parse(before);
  const b = parse(after);
  const changes: string[] = [];
  for (const [path, line] of b) {
    const old = a.get(path);
    if (old === undefined) changes.push(`file ${path} (added)`);
    else if (old !== line) changes.push(`file ${path}`);
  }
  for (const path of a.keys()) if (!b.has(path)) changes.push(`file ${path} (removed)`);
  return changes;
}
