import type { DockerfileAst, InstructionNode, SourceRange } from "./ast.js";
import { goQuote } from "./go-quote.js";
import { trimGoSpace } from "./go-space.js";

/**
 * The AST in BuildKit's dump format (the `result` files of its parser tests): one
 * `(keyword ["--flag" ...] "arg" ...)` line per instruction, ONBUILD's trigger nested,
 * values quoted with Go's rules, ending with exactly one newline.
 */
export function dumpAst(ast: DockerfileAst): string {
  const lines = ast.instructions.map((instruction) => `(${dumpInstruction(instruction)})\n`);
  return `${trimGoSpace(lines.join(""))}\n`;
}

/** One instruction without its outer parentheses: `run ["--mount=x"] "make"`. */
export function dumpInstruction(instruction: InstructionNode): string {
  let out = instruction.name;
  if (instruction.flags.length > 0) out += ` [${instruction.flags.map((flag) => goQuote(flag.raw)).join(" ")}]`;
  for (const arg of instruction.args) out += ` ${goQuote(arg.value)}`;
  if (instruction.child) out += ` (${dumpInstruction(instruction.child)})`;
  return trimGoSpace(out);
}

/** A plain, JSON-serialisable copy of the AST, ranges included. */
export interface AstJson {
  file: string;
  escapeToken: string;
  directives: Array<{ name: string; value: string; range: SourceRange }>;
  instructions: InstructionJson[];
  warnings: Array<{ code: string; message: string; range: SourceRange }>;
  range: SourceRange;
}

export interface InstructionJson {
  keyword: string;
  name: string;
  flags: Array<{ raw: string; name: string; value: string | null; range: SourceRange }>;
  args: Array<{ value: string; range: SourceRange }>;
  json: boolean;
  child: InstructionJson | null;
  heredocs: Array<{ name: string; content: string; expand: boolean; chomp: boolean; fileDescriptor: number; range: SourceRange }>;
  original: string;
  comments: string[];
  range: SourceRange;
  keywordRange: SourceRange;
}

/** The AST as plain objects for `tsbuild debug parse --format json`. */
export function astToJson(ast: DockerfileAst): AstJson {
  return {
    file: ast.file,
    escapeToken: ast.escapeToken,
    directives: ast.directives.map((d) => ({ name: d.name, value: d.value, range: copyRange(d.range) })),
    instructions: ast.instructions.map(instructionToJson),
    warnings: ast.warnings.map((w) => ({ code: w.code, message: w.message, range: copyRange(w.range) })),
    range: copyRange(ast.range),
  };
}

function instructionToJson(node: InstructionNode): InstructionJson {
  return {
    keyword: node.keyword,
    name: node.name,
    flags: node.flags.map((f) => ({ raw: f.raw, name: f.name, value: f.value ?? null, range: copyRange(f.range) })),
    args: node.args.map((a) => ({ value: a.value, range: copyRange(a.range) })),
    json: node.json,
    child: node.child ? instructionToJson(node.child) : null,
    heredocs: node.heredocs.map((h) => ({
      name: h.name,
      content: h.content,
      expand: h.expand,
      chomp: h.chomp,
      fileDescriptor: h.fileDescriptor,
      range: copyRange(h.range),
    })),
    original: node.original,
    comments: [...node.comments],
    range: copyRange(node.range),
    keywordRange: copyRange(node.keywordRange),
  };
}

function copyRange(range: SourceRange): SourceRange {
  return { start: { ...range.start }, end: { ...range.end } };
}
