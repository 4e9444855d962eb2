import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { parseInstruction, parseInstructions } from "../../frontend/instructions/parse-instructions.js";
import type { CopyInstruction, Instruction, RunInstruction } from "../../frontend/instructions/types.js";
import type { InstructionNode, SourceRange } from "../../parser/ast.js";
import { parseDockerfile } from "../../parser/parse-dockerfile.js";
import type { CaseResult, ConformanceSuite } from "./case-result.js";

interface InstructionCase {
  kind: string;
  name?: string;
  dockerfile?: string;
  astNode?: { value: string; next: string[] };
  expectedError?: string;
  errorMatch?: "exact" | "contains";
  errorContains?: string;
  expectError?: boolean;
  flag?: string;
  value?: string;
  expected?: Record<string, unknown>;
}

const NOWHERE: SourceRange = { start: { line: 1, column: 1, offset: 0 }, end: { line: 1, column: 1, offset: 0 } };

/** An AST node built by hand, as upstream's tests build some nodes the parser never makes. */
function handBuiltNode(spec: { value: string; next: string[] }): InstructionNode {
  return {
    keyword: spec.value,
    name: spec.value.toLowerCase(),
    flags: [],
    args: spec.next.map((value) => ({ value, range: NOWHERE })),
    json: false,
    heredocs: [],
    original: "",
    comments: [],
    range: NOWHERE,
    keywordRange: NOWHERE,
  };
}

function firstInstruction(text: string): Instruction {
  const ast = parseDockerfile(text, { file: "Dockerfile" });
  return parseInstruction(ast.instructions[0], { file: "Dockerfile" });
}

function reasonOf(error: unknown): string {
  return error instanceof Error && "reason" in error ? String((error as { reason: unknown }).reason) : String(error);
}

function check(record: InstructionCase): string | undefined {
  const same = (actual: unknown, expected: unknown, what: string) =>
    JSON.stringify(actual) === JSON.stringify(expected) ? undefined : `${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`;
  switch (record.kind) {
    case "instructionError": {
      try {
        if (record.astNode) parseInstruction(handBuiltNode(record.astNode), { file: "Dockerfile" });
        else parseInstructions(parseDockerfile(`FROM scratch\n${record.dockerfile}`, { file: "Dockerfile" }));
      } catch (error) {
        const reason = reasonOf(error);
        const ok = record.errorMatch === "exact" ? reason === record.expectedError : reason.includes(record.expectedError ?? "");
        return ok ? undefined : `expected error ${JSON.stringify(record.expectedError)}, got ${JSON.stringify(reason)}`;
      }
      return `expected error ${JSON.stringify(record.expectedError)}, got none`;
    }
    case "healthcheck": {
      const instruction = parseInstruction(handBuiltNode(record.astNode!), { file: "Dockerfile" });
      return instruction.kind === "HEALTHCHECK" ? same(instruction.healthcheck.test, record.expected!.test, "test") : "not a HEALTHCHECK";
    }
    case "healthcheckInterval": {
      try {
        firstInstruction(`HEALTHCHECK --${record.flag}=${record.value} CMD true`);
      } catch (error) {
        if (!record.expectError) return `unexpected error ${reasonOf(error)}`;
        return reasonOf(error).includes(record.errorContains ?? "") ? undefined : `error ${JSON.stringify(reasonOf(error))} lacks ${JSON.stringify(record.errorContains)}`;
      }
      return record.expectError ? "expected an error" : undefined;
    }
    case "docComments": {
      const { metaArgs, stages } = parseInstructions(parseDockerfile(record.dockerfile!, { file: "Dockerfile" }));
      const actual: Record<string, unknown> = {};
      const argOf = (instruction: unknown, i: number) => {
        const arg = (instruction as { args: { key: string; docComment: string }[] }).args[i];
        return { key: arg.key, docComment: arg.docComment };
      };
      for (const path of Object.keys(record.expected!)) {
        const m = /^(stages|metaArgs)\[(\d+)\](?:\.commands\[(\d+)\])?\.(docComment|args\[(\d+)\])$/.exec(path);
        if (!m) return `cannot read path ${path}`;
        if (m[1] === "metaArgs") actual[path] = argOf(metaArgs[Number(m[2])], Number(m[5]));
        else if (m[4] === "docComment") actual[path] = stages[Number(m[2])].docComment;
        else actual[path] = argOf(stages[Number(m[2])].commands[Number(m[3])], Number(m[5]));
      }
      return same(actual, record.expected, "doc comments");
    }
    case "runFlagsUsed": {
      const run = firstInstruction(record.dockerfile!) as RunInstruction;
      return same(run.flagsUsed, record.expected!.flagsUsed, "flagsUsed");
    }
    case "copySourcesAndDest": {
      const copy = firstInstruction(record.dockerfile!) as CopyInstruction;
      const actual = {
        destPath: copy.destination,
        sourcePaths: copy.sources,
        sourceContents: copy.sourceContents.map((c) => ({ path: c.name, data: c.data, expand: c.expand })),
      };
      return same(actual, record.expected, "sources and destination");
    }
    case "runCommand": {
      const run = firstInstruction(record.dockerfile!) as RunInstruction;
      const actual = { prependShell: run.prependShell, cmdLine: run.args, files: run.files.map((f) => ({ name: f.name, data: f.data, chomp: f.chomp })) };
      return same(actual, record.expected, "run command");
    }
    default:
      return `unknown case kind ${record.kind}`;
  }
}

/** BuildKit's instruction-layer facts (`buildkit/cases/instructions-cases.jsonl`). */
export const runInstructionsConformance: ConformanceSuite = async (dir) => {
  const text = await readFile(join(dir, "buildkit", "cases", "instructions-cases.jsonl"), "utf8");
  const results: CaseResult[] = [];
  text.split("\n").filter((line) => line.trim() !== "").forEach((line, i) => {
    const record = JSON.parse(line) as InstructionCase;
    const id = `buildkit/cases/instructions-cases:${i + 1}`;
    let detail: string | undefined;
    try {
      detail = check(record);
    } catch (error) {
      detail = `threw ${reasonOf(error)}`;
    }
    results.push(detail === undefined ? { id, ok: true } : { id, ok: false, detail });
  });
  return results;
};
