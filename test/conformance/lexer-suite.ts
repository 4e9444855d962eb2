// Checks the shell-word expander (parser/shell-lexer.ts) against BuildKit's lexer tables,
// the lexer facts restated from its Go tests, and the reference-generated edge cases.
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { DockerfileSyntaxError } from "../../parser/syntax-error.js";
import { expandWord, expandWords, type ShellEnv, type ShellLexerOptions } from "../../parser/shell-lexer.js";
import type { CaseResult, ConformanceSuite } from "./case-result.js";

/** What one case asks for, whatever file it came from. */
interface LexerCase {
  id: string;
  fn: "ProcessWord" | "ProcessWordWithMatches" | "ProcessWords";
  input: string;
  env: ShellEnv;
  options: ShellLexerOptions;
  expectError: boolean;
  errorContains?: string;
  expected?: string;
  expectedWords?: string[];
  matched?: string[];
  unmatched?: string[];
}

interface RawOptions {
  rawQuotes?: boolean;
  skipUnsetEnv?: boolean;
  skipProcessQuotes?: boolean;
  rawEscapes?: boolean;
}

async function readJsonLines(path: string): Promise<{ line: number; record: Record<string, unknown> }[]> {
  const text = await readFile(path, "utf8");
  const out: { line: number; record: Record<string, unknown> }[] = [];
  text.split("\n").forEach((line, index) => {
    if (line.trim() !== "") out.push({ line: index + 1, record: JSON.parse(line) as Record<string, unknown> });
  });
  return out;
}

function lexerOptions(escapeToken: unknown, raw: RawOptions | undefined): ShellLexerOptions {
  return {
    escapeToken: escapeToken === "`" ? "`" : "\\",
    rawQuotes: raw?.rawQuotes === true,
    skipUnsetEnv: raw?.skipUnsetEnv === true,
    skipProcessQuotes: raw?.skipProcessQuotes === true,
    rawEscapes: raw?.rawEscapes === true,
  };
}

/** `buildkit/shell/envVarTest.jsonl`: rows for platforms A and U, with the preset env. */
async function envVarCases(root: string): Promise<LexerCase[]> {
  const presets = JSON.parse(await readFile(join(root, "buildkit/shell/env-presets.json"), "utf8")) as {
    envVarTest: { env: Record<string, string> };
  };
  const rows = await readJsonLines(join(root, "buildkit/shell/envVarTest.jsonl"));
  return rows
    .filter(({ record }) => record.platform === "A" || record.platform === "U")
    .map(({ record }) => ({
      id: `buildkit/shell/envVarTest:${String(record.line)}`,
      fn: "ProcessWord" as const,
      input: String(record.input),
      env: presets.envVarTest.env,
      options: lexerOptions("\\", undefined),
      expectError: record.expectError === true,
      expected: record.expected === undefined ? undefined : String(record.expected),
    }));
}

/** `buildkit/shell/wordsTest.jsonl`: each row with the env list active at its line. */
async function wordsCases(root: string): Promise<LexerCase[]> {
  const rows = await readJsonLines(join(root, "buildkit/shell/wordsTest.jsonl"));
  return rows.map(({ record }) => ({
    id: `buildkit/shell/wordsTest:${String(record.line)}`,
    fn: "ProcessWords" as const,
    input: String(record.input),
    env: record.env as string[],
    options: lexerOptions("\\", undefined),
    expectError: record.expectError === true,
    expectedWords: record.expectedWords as string[] | undefined,
  }));
}

/** `buildkit/cases/shell-lex-cases.jsonl`: own env (map or list) and options per record. */
async function goTestCases(root: string): Promise<LexerCase[]> {
  const rows = await readJsonLines(join(root, "buildkit/cases/shell-lex-cases.jsonl"));
  return rows.map(({ record }) => ({
    id: `buildkit/cases/shell-lex-cases#${String(record.id)}`,
    fn: record.fn as LexerCase["fn"],
    input: String(record.input),
    env: (record.envList as string[] | undefined) ?? (record.env as Record<string, string> | undefined) ?? {},
    options: lexerOptions(record.escapeToken, record.options as RawOptions),
    expectError: record.expectError === true,
    errorContains: record.errorContains as string | undefined,
    expected: record.expected as string | undefined,
    expectedWords: record.expectedWords as string[] | undefined,
    matched: record.matched as string[] | undefined,
    unmatched: record.unmatched as string[] | undefined,
  }));
}

/** `generated/lexer-edge-cases.jsonl`, skipping records marked as quirks. */
async function edgeCases(root: string): Promise<LexerCase[]> {
  const { env } = JSON.parse(await readFile(join(root, "generated/lexer-edge-cases.env.json"), "utf8")) as {
    env: Record<string, string>;
  };
  const rows = await readJsonLines(join(root, "generated/lexer-edge-cases.jsonl"));
  return rows
    .filter(({ record }) => record.quirk !== true)
    .map(({ record }) => ({
      id: `generated/lexer-edge-cases#${String(record.id)}`,
      fn: record.fn as LexerCase["fn"],
      input: String(record.input),
      env,
      options: lexerOptions(record.escapeToken, record.options as RawOptions),
      expectError: record.expectError === true,
      expected: record.expected as string | undefined,
      expectedWords: record.expectedWords as string[] | undefined,
      matched: record.matched as string[] | undefined,
      unmatched: record.unmatched as string[] | undefined,
    }));
}

function sameSet(expected: string[], actual: Set<string>): boolean {
  return expected.length === actual.size && expected.every((name) => actual.has(name));
}

const show = (value: unknown): string => JSON.stringify(value);

function check(c: LexerCase): CaseResult {
  let actual: { value?: string; words?: string[]; matched?: Set<string>; unmatched?: Set<string> };
  try {
    if (c.fn === "ProcessWords") {
      actual = { words: expandWords(c.input, c.env, c.options) };
    } else {
      const result = expandWord(c.input, c.env, c.options);
      actual = { value: result.value, matched: result.matched, unmatched: result.unmatched };
    }
  } catch (error) {
    if (!(error instanceof DockerfileSyntaxError)) {
      return { id: c.id, ok: false, detail: `input ${show(c.input)}: threw a non-syntax error: ${String(error)}` };
    }
    if (!c.expectError) return { id: c.id, ok: false, detail: `input ${show(c.input)}: expected success, got error ${show(error.reason)}` };
    if (c.errorContains !== undefined && !error.reason.includes(c.errorContains)) {
      return { id: c.id, ok: false, detail: `input ${show(c.input)}: error ${show(error.reason)} lacks ${show(c.errorContains)}` };
    }
    return { id: c.id, ok: true };
  }
  const got = actual.words ?? actual.value;
  if (c.expectError) return { id: c.id, ok: false, detail: `input ${show(c.input)}: expected an error, got ${show(got)}` };
  if (c.expectedWords !== undefined && show(c.expectedWords) !== show(actual.words)) {
    return { id: c.id, ok: false, detail: `input ${show(c.input)}: expected ${show(c.expectedWords)}, got ${show(actual.words)}` };
  }
  if (c.expected !== undefined && c.expected !== actual.value) {
    return { id: c.id, ok: false, detail: `input ${show(c.input)}: expected ${show(c.expected)}, got ${show(actual.value)}` };
  }
  for (const [label, expected, set] of [
    ["matched", c.matched, actual.matched],
    ["unmatched", c.unmatched, actual.unmatched],
  ] as const) {
    if (expected !== undefined && set !== undefined && !sameSet(expected, set)) {
      return { id: c.id, ok: false, detail: `input ${show(c.input)}: ${label} expected ${show(expected)}, got ${show([...set])}` };
    }
  }
  return { id: c.id, ok: true };
}

/**
 * Runs every lexer case under the conformance root `dir` (the folder holding `buildkit/`
 * and `generated/`). Files that are missing are skipped; a file that cannot be read or
 * parsed is reported as one failed case.
 */
export const runLexerConformance: ConformanceSuite = async (dir) => {
  const sources: [string, string, (root: string) => Promise<LexerCase[]>][] = [
    ["buildkit/shell/envVarTest", "buildkit/shell/envVarTest.jsonl", envVarCases],
    ["buildkit/shell/wordsTest", "buildkit/shell/wordsTest.jsonl", wordsCases],
    ["buildkit/cases/shell-lex-cases", "buildkit/cases/shell-lex-cases.jsonl", goTestCases],
    ["generated/lexer-edge-cases", "generated/lexer-edge-cases.jsonl", edgeCases],
  ];
  const results: CaseResult[] = [];
  for (const [id, file, load] of sources) {
    if (!existsSync(join(dir, file))) continue;
    let cases: LexerCase[];
    try {
      cases = await load(dir);
    } catch (error) {
      results.push({ id, ok: false, detail: `cannot read the cases: ${String(error)}` });
      continue;
    }
    for (const c of cases) results.push(check(c));
  }
  return results;
};
