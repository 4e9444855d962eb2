// Conformance suites for the Dockerfile parser: BuildKit's own fixtures, facts restated
// from its Go tests, our generated edge cases, and real-world corpora with expected dumps.
import { existsSync, readdirSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { DockerfileAst, InstructionNode } from "../../parser/ast.js";
import { detectSyntax, findDirective, parseDirectives } from "../../parser/directives.js";
import { dumpAst } from "../../parser/dump.js";
import { chompHeredocContent, heredocsFromLine, parseHeredocWord } from "../../parser/heredoc.js";
import { parseJsonArray } from "../../parser/json-array.js";
import { parseDockerfile } from "../../parser/parse-dockerfile.js";
import { parseWords } from "../../parser/parse-words.js";
import { DockerfileSyntaxError } from "../../parser/syntax-error.js";
import { decodeDockerfileBytes } from "../../parser/dockerfile-bytes.js";
import type { CaseResult, ConformanceSuite } from "./case-result.js";

/** Node shape of the reference ASTs (`*.ast.json`, `parser-edge-cases.jsonl`). */
interface ReferenceNode {
  value: string;
  flags: string[];
  json: boolean;
  next: Array<string | { child: ReferenceNode }>;
  startLine: number;
  endLine: number;
  heredocs?: Array<{ name: string; content: string; expand: boolean; chomp: boolean; fileDescriptor: number }>;
  prevComment?: string[];
}

interface ReferenceAst {
  escapeToken: string;
  warnings: string[];
  rootStartLine: number;
  rootEndLine: number;
  children: ReferenceNode[];
}

/** Files are read as bytes and decoded as the build reads them (bytes that are not UTF-8 kept), line endings untouched. */
async function readText(path: string): Promise<string> {
  return decodeDockerfileBytes(await readFile(path));
}

async function readJsonLines<T>(path: string): Promise<T[]> {
  if (!existsSync(path)) return [];
  const text = await readFile(path, "utf8");
  return text
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as T);
}

function short(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}

function differ(what: string, actual: unknown, expected: unknown): string | undefined {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  return a === e ? undefined : `${what}: expected ${short(expected)}, got ${short(actual)}`;
}

function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** First differing line of two dumps, for a short failure detail. */
function dumpDiff(actual: string, expected: string): string | undefined {
  if (actual === expected) return undefined;
  const a = actual.split("\n");
  const e = expected.split("\n");
  for (let i = 0; i < Math.max(a.length, e.length); i++) {
    if (a[i] !== e[i]) return `dump line ${i + 1}: expected ${short(e[i])}, got ${short(a[i])}`;
  }
  return "dump differs";
}

/** Our AST in the reference node shape. */
function toReference(node: InstructionNode, nested = false): ReferenceNode {
  const next: ReferenceNode["next"] = node.args.map((arg) => arg.value);
  if (node.child) next.push({ child: toReference(node.child, true) });
  const out: ReferenceNode = {
    value: node.keyword,
    flags: node.flags.map((flag) => flag.raw),
    json: node.json,
    next,
    startLine: nested ? 0 : node.range.start.line,
    endLine: nested ? 0 : node.range.end.line,
  };
  if (!nested && node.comments.length > 0) out.prevComment = [...node.comments];
  if (!nested && node.heredocs.length > 0) {
    out.heredocs = node.heredocs.map((h) => ({
      name: h.name,
      content: h.content,
      expand: h.expand,
      chomp: h.chomp,
      fileDescriptor: h.fileDescriptor,
    }));
  }
  return out;
}

function compareAst(ast: DockerfileAst, expected: Partial<ReferenceAst>): string | undefined {
  const problems = [
    expected.escapeToken === undefined ? undefined : differ("escapeToken", ast.escapeToken, expected.escapeToken),
    expected.warnings === undefined ? undefined : differ("warnings", ast.warnings.map((w) => w.message), expected.warnings),
    expected.rootStartLine === undefined ? undefined : differ("rootStartLine", ast.range.start.line, expected.rootStartLine),
    expected.rootEndLine === undefined ? undefined : differ("rootEndLine", ast.range.end.line, expected.rootEndLine),
  ];
  if (expected.children) {
    const actual = ast.instructions.map((node) => toReference(node));
    if (actual.length !== expected.children.length) problems.push(`children: expected ${expected.children.length}, got ${actual.length}`);
    for (let i = 0; i < Math.min(actual.length, expected.children.length); i++) {
      // Some reference files leave doc comments out; compare them only where given.
      if (!("prevComment" in expected.children[i])) delete actual[i].prevComment;
      const problem = differ(`child ${i}`, actual[i], expected.children[i]);
      if (problem) {
        problems.push(problem);
        break;
      }
    }
  }
  return problems.find((p) => p !== undefined);
}

/** Parses, expecting success; returns the AST or a failure detail. */
function tryParse(text: string, file: string): DockerfileAst | string {
  try {
    return parseDockerfile(text, { file });
  } catch (error) {
    return `unexpected error: ${errorText(error)}`;
  }
}

/** Parses, expecting a DockerfileSyntaxError; returns a failure detail or undefined. */
function expectSyntaxError(text: string, file: string): string | undefined {
  try {
    parseDockerfile(text, { file });
  } catch (error) {
    return error instanceof DockerfileSyntaxError ? undefined : `threw ${errorText(error)} instead of DockerfileSyntaxError`;
  }
  return "expected a syntax error, the parse succeeded";
}

function result(id: string, detail: string | undefined): CaseResult {
  return detail === undefined ? { id, ok: true } : { id, ok: false, detail };
}

function guard(id: string, check: () => string | undefined): CaseResult {
  try {
    return result(id, check());
  } catch (error) {
    return result(id, `check crashed: ${errorText(error)}`);
  }
}

async function checkTestfiles(dir: string, prefix: string): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  for (const name of readdirSync(dir).sort()) {
    const input = join(dir, name, "Dockerfile");
    const expectedPath = join(dir, name, "result");
    if (!existsSync(input) || !existsSync(expectedPath)) continue;
    const text = await readText(input);
    const expected = await readFile(expectedPath, "utf8");
    results.push(
      guard(`${prefix}${name}`, () => {
        const ast = tryParse(text, input);
        return typeof ast === "string" ? ast : dumpDiff(dumpAst(ast), expected);
      }),
    );
  }
  return results;
}

/** Any directory in BuildKit's testfiles layout: `<case>/Dockerfile` + `<case>/result`. */
export const runTestfilesConformance: ConformanceSuite = async (dir) => checkTestfiles(dir, "testfiles/");

/** A corpus of `*.Dockerfile` files with `expected/<file>.result` and optional `.ast.json`. */
export const runCorpusConformance: ConformanceSuite = async (dir) => {
  const results: CaseResult[] = [];
  for (const name of readdirSync(dir).filter((n) => n.endsWith(".Dockerfile")).sort()) {
    const text = await readText(join(dir, name));
    const resultPath = join(dir, "expected", `${name}.result`);
    const astPath = join(dir, "expected", `${name}.ast.json`);
    const expectedDump = existsSync(resultPath) ? await readFile(resultPath, "utf8") : undefined;
    const expectedAst = existsSync(astPath) ? (JSON.parse(await readFile(astPath, "utf8")) as ReferenceAst) : undefined;
    results.push(
      guard(`corpus/${name}`, () => {
        const ast = tryParse(text, name);
        if (typeof ast === "string") return ast;
        if (expectedDump !== undefined) {
          const problem = dumpDiff(dumpAst(ast), expectedDump);
          if (problem) return problem;
        }
        return expectedAst ? compareAst(ast, expectedAst) : undefined;
      }),
    );
  }
  return results;
};

interface DockerfileCase {
  id: string;
  dockerfile?: string;
  dockerfileGenerator?: { prefix: string; repeat: string; count: number; suffix: string };
  expect: {
    error?: string;
    childNext?: string[][];
    childHeredocs?: Array<ReferenceNode["heredocs"] | null>;
    rootStartLine?: number;
    rootEndLine?: number;
    childLines?: Array<[number, number]>;
    warningCount?: number;
    warningsContain?: string[][];
  };
  reference?: { dump?: string };
}

function checkDockerfileCase(record: DockerfileCase): string | undefined {
  const generator = record.dockerfileGenerator;
  const text = generator ? generator.prefix + generator.repeat.repeat(generator.count) + generator.suffix : (record.dockerfile ?? "");
  const { expect } = record;
  if (expect.error !== undefined) return expectSyntaxError(text, "Dockerfile");
  const ast = tryParse(text, "Dockerfile");
  if (typeof ast === "string") return ast;
  const nodes = ast.instructions;
  const problems: Array<string | undefined> = [];
  if (expect.childNext) problems.push(differ("childNext", nodes.map((n) => n.args.map((a) => a.value)), expect.childNext));
  if (expect.childHeredocs) {
    const actual = expect.childHeredocs.map((_, i) => toReference(nodes[i]).heredocs ?? null);
    problems.push(differ("childHeredocs", actual, expect.childHeredocs));
  }
  if (expect.rootStartLine !== undefined) problems.push(differ("rootStartLine", ast.range.start.line, expect.rootStartLine));
  if (expect.rootEndLine !== undefined) problems.push(differ("rootEndLine", ast.range.end.line, expect.rootEndLine));
  if (expect.childLines) {
    problems.push(differ("childLines", nodes.map((n) => [n.range.start.line, n.range.end.line]), expect.childLines));
  }
  if (expect.warningCount !== undefined) problems.push(differ("warningCount", ast.warnings.length, expect.warningCount));
  if (expect.warningsContain) {
    expect.warningsContain.forEach((needles, i) => {
      const message = ast.warnings[i]?.message ?? "";
      const missing = needles.find((needle) => !message.includes(needle));
      if (missing !== undefined) problems.push(`warning ${i} ${short(message)} lacks ${short(missing)}`);
    });
  }
  if (record.reference?.dump !== undefined) problems.push(dumpDiff(dumpAst(ast), record.reference.dump));
  return problems.find((p) => p !== undefined);
}

interface WordsCase {
  id: string;
  escapeToken: "\\" | "`";
  input: string;
  expectedWords: string[];
}

interface JsonCase {
  id: string;
  input: string;
  valid: boolean;
  expectedValues?: string[];
}

function checkJsonCase(record: JsonCase): string | undefined {
  const detected = parseJsonArray(record.input);
  if (record.valid) {
    if (detected.kind !== "strings") return `expected a string array, got ${detected.kind}`;
    return differ("values", detected.values, record.expectedValues) ?? differ("dump", dumpOf(`CMD ${record.input}`), dumpOfValues(record.expectedValues ?? []));
  }
  if (detected.kind !== "not-strings") return `expected a non-string element error, got ${detected.kind}`;
  return expectSyntaxError(`FROM scratch\nCMD ${record.input}\n`, "Dockerfile");
}

function dumpOf(text: string): string {
  return dumpAst(parseDockerfile(text));
}

function dumpOfValues(values: string[]): string {
  return dumpOf(`CMD ${JSON.stringify(values)}`);
}

interface HeredocHelperCase {
  fn: "parseHeredocWord" | "heredocsFromLine" | "chompHeredocContent";
  input: string;
  expect: { isHeredoc?: boolean; name?: string; error?: boolean; names?: string[]; output?: string };
  reference?: { heredoc?: unknown; heredocs?: unknown[] };
}

function checkHeredocHelper(record: HeredocHelperCase): string | undefined {
  const { expect } = record;
  switch (record.fn) {
    case "parseHeredocWord": {
      let heredoc;
      try {
        heredoc = parseHeredocWord(record.input);
      } catch (error) {
        return expect.error ? undefined : `unexpected error: ${errorText(error)}`;
      }
      if (expect.error) return "expected an error";
      if (expect.isHeredoc === false) return heredoc === undefined ? undefined : `expected no heredoc, got ${short(heredoc)}`;
      if (!heredoc) return "expected a heredoc";
      return differ("name", heredoc.name, expect.name) ?? (record.reference?.heredoc ? differ("heredoc", heredoc, record.reference.heredoc) : undefined);
    }
    case "heredocsFromLine": {
      const heredocs = heredocsFromLine(record.input);
      return differ("names", heredocs.map((h) => h.name), expect.names) ?? (record.reference?.heredocs ? differ("heredocs", heredocs, record.reference.heredocs) : undefined);
    }
    case "chompHeredocContent":
      return differ("output", chompHeredocContent(record.input), expect.output);
  }
}

interface DirectiveCase {
  fn: "parseAll" | "detectSyntax" | "parseDirective";
  input: string;
  key?: "check" | "syntax" | "escape";
  expect: { directives?: Array<{ name: string; value: string; line: number }>; found?: boolean; ref?: string; cmdline?: string; line?: number };
}

function checkDirective(record: DirectiveCase): string | undefined {
  const { expect } = record;
  if (record.fn === "parseAll") return differ("directives", parseDirectives(record.input), expect.directives);
  const found = record.fn === "detectSyntax" ? detectSyntax(record.input) : findDirective(record.key ?? "check", record.input);
  if (!expect.found) return found === undefined ? undefined : `expected none, got ${short(found)}`;
  if (!found) return "expected a directive";
  return (
    differ("ref", found.ref, expect.ref) ??
    (expect.cmdline === undefined ? undefined : differ("cmdline", found.cmdline, expect.cmdline)) ??
    (expect.line === undefined ? undefined : differ("line", found.line, expect.line))
  );
}

interface EdgeCase {
  id: string;
  quirk?: boolean;
  dockerfile: string;
  expect: { error?: string; dump?: string } & Partial<ReferenceAst>;
}

function checkEdgeCase(record: EdgeCase): string | undefined {
  if (record.expect.error !== undefined) return expectSyntaxError(record.dockerfile, "Dockerfile");
  const ast = tryParse(record.dockerfile, "Dockerfile");
  if (typeof ast === "string") return ast;
  return (record.expect.dump === undefined ? undefined : dumpDiff(dumpAst(ast), record.expect.dump)) ?? compareAst(ast, record.expect);
}

/**
 * The whole parser conformance set under a conformance root: BuildKit's testfiles (positive
 * and negative), the restated Go-test facts (`cases/parser-*.jsonl`) and the generated
 * edge cases. Records marked `quirk` are left out: see docs for the deviations.
 */
export const runParserConformance: ConformanceSuite = async (root) => {
  const results: CaseResult[] = [];
  const buildkit = join(root, "buildkit");
  const positive = join(buildkit, "parser", "testfiles");
  if (existsSync(positive)) results.push(...(await checkTestfiles(positive, "buildkit/parser/testfiles/")));
  const negative = join(buildkit, "parser", "testfiles-negative");
  if (existsSync(negative)) {
    for (const name of readdirSync(negative).sort()) {
      const input = join(negative, name, "Dockerfile");
      if (!existsSync(input)) continue;
      const text = await readText(input);
      results.push(guard(`buildkit/parser/testfiles-negative/${name}`, () => expectSyntaxError(text, input)));
    }
  }
  const cases = join(buildkit, "cases");
  for (const record of await readJsonLines<DockerfileCase>(join(cases, "parser-dockerfiles.jsonl"))) {
    results.push(guard(`buildkit/cases/parser-dockerfiles#${record.id}`, () => checkDockerfileCase(record)));
  }
  for (const record of await readJsonLines<WordsCase>(join(cases, "parser-words.jsonl"))) {
    results.push(guard(`buildkit/cases/parser-words#${record.id}`, () => differ("words", parseWords(record.input, record.escapeToken), record.expectedWords)));
  }
  for (const record of await readJsonLines<JsonCase>(join(cases, "parser-json-arrays.jsonl"))) {
    results.push(guard(`buildkit/cases/parser-json-arrays#${record.id}`, () => checkJsonCase(record)));
  }
  (await readJsonLines<HeredocHelperCase>(join(cases, "parser-heredoc-helpers.jsonl"))).forEach((record, i) => {
    results.push(guard(`buildkit/cases/parser-heredoc-helpers#${i + 1}-${record.fn}`, () => checkHeredocHelper(record)));
  });
  (await readJsonLines<DirectiveCase>(join(cases, "parser-directives.jsonl"))).forEach((record, i) => {
    results.push(guard(`buildkit/cases/parser-directives#${i + 1}-${record.fn}`, () => checkDirective(record)));
  });
  for (const record of await readJsonLines<EdgeCase>(join(root, "generated", "parser-edge-cases.jsonl"))) {
    if (record.quirk) continue;
    results.push(guard(`generated/parser-edge-cases#${record.id}`, () => checkEdgeCase(record)));
  }
  return results;
};
