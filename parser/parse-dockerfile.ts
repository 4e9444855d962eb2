import type { DirectiveNode, DockerfileAst, HeredocNode, InstructionNode, ParseWarning } from "./ast.js";
import { buildInstruction, InstructionLineError } from "./build-instruction.js";
import { DirectiveError, DirectiveScanner } from "./directives.js";
import { isGoSpace, skipGoSpace, trimGoSpace } from "./go-space.js";
import { heredocsFromLine, HeredocWordError } from "./heredoc.js";
import { LogicalLine, SourceText } from "./source-text.js";
import { DockerfileSyntaxError } from "./syntax-error.js";

/** Options of `parseDockerfile`. */
export interface ParseDockerfileOptions {
  /** The file name for messages and the AST (`Dockerfile` when not given). */
  file?: string;
}

/** BuildKit reads lines with a 64 KiB scanner buffer: a longer line is an error. */
export const MAX_LINE_BYTES = 65535;

const HEREDOC_KEYWORDS = new Set(["run", "copy", "add"]);

/** One physical line: `[start, end)` without the `\n`; `next` is where the next line starts. */
interface PhysicalLine {
  number: number;
  start: number;
  end: number;
  next: number;
}

/** Physical lines as BuildKit's scanner yields them, with its line-length limit. */
class LineReader {
  private offset: number;
  private count = 0;

  private readonly text: string;
  private readonly fail: (reason: string, line: number) => never;

  constructor(text: string, options: { start: number; fail: (reason: string, line: number) => never }) {
    this.text = text;
    this.fail = options.fail;
    const start = options.start;
    this.offset = start;
    // BuildKit measures the first line before dropping the BOM (3 bytes in UTF-8).
    this.firstLineExtra = start > 0 ? 3 : 0;
  }

  private readonly firstLineExtra: number;

  get linesRead(): number {
    return this.count;
  }

  read(): PhysicalLine | undefined {
    const { text } = this;
    if (this.offset >= text.length) return undefined;
    const newline = text.indexOf("\n", this.offset);
    const end = newline < 0 ? text.length : newline;
    const line: PhysicalLine = { number: ++this.count, start: this.offset, end, next: newline < 0 ? text.length : newline + 1 };
    // UTF-8 takes at most 3 bytes per UTF-16 unit, so only long lines need counting.
    const extra = line.number === 1 ? this.firstLineExtra : 0;
    if ((end - line.start) * 3 + extra > MAX_LINE_BYTES && Buffer.byteLength(text.slice(line.start, end)) + extra > MAX_LINE_BYTES) {
      this.fail(`dockerfile line greater than max allowed size of ${MAX_LINE_BYTES}`, line.number);
    }
    this.offset = line.next;
    return line;
  }
}

/** BuildKit's continuation test: an escape at the end (blanks after it allowed), not itself escaped. */
function continuationCut(text: string, escape: string): number {
  let end = text.length;
  while (end > 0 && (text.charCodeAt(end - 1) === 0x20 || text.charCodeAt(end - 1) === 0x09)) end--;
  if (end === 0 || text[end - 1] !== escape) return -1;
  if (end === 1) return 0;
  return text[end - 2] === escape ? -1 : end - 1;
}

/** Go's bytes.TrimRight(line, "\r\n") for a line that has no \n. */
function trimCarriageReturns(text: string, start: number, end: number): number {
  while (end > start && text.charCodeAt(end - 1) === 0x0d) end--;
  return end;
}

/**
 * Parses Dockerfile text into the AST, agreeing with BuildKit's parser: directives,
 * continuations, comments, heredoc bodies, flags and the argument shape of each keyword.
 * Throws DockerfileSyntaxError, and nothing else, for input BuildKit rejects.
 */
export function parseDockerfile(text: string, options: ParseDockerfileOptions = {}): DockerfileAst {
  const file = options.file ?? "Dockerfile";
  const source = new SourceText(text);
  const fail = (reason: string, where: { line: number; column?: number; endLine?: number; hint?: string }): never => {
    throw new DockerfileSyntaxError(
      reason,
      { file, line: where.line, column: where.column ?? 1, endLine: where.endLine },
      where.hint === undefined ? {} : { hint: where.hint },
    );
  };
  const bom = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const reader = new LineReader(text, { start: bom, fail: (reason, line) => fail(reason, { line }) });
  const directives = new DirectiveScanner();
  const directiveNodes: DirectiveNode[] = [];
  const instructions: InstructionNode[] = [];
  const warnings: ParseWarning[] = [];
  let escape: "\\" | "`" = "\\";
  let comments: string[] = [];

  const scanDirective = (content: string, line: PhysicalLine, contentStart: number): boolean => {
    let found;
    try {
      found = directives.scanLine(content);
    } catch (error) {
      if (error instanceof DirectiveError) fail(error.reason, { line: line.number, column: contentStart - line.start + 1 });
      throw error;
    }
    if (!found) return false;
    if (found.name === "escape") {
      if (found.value !== "\\" && found.value !== "`") {
        fail(`invalid escape token '${found.value}' does not match \` or \\`, {
          line: line.number,
          column: contentStart - line.start + 1,
          hint: "Use # escape=\\ or # escape=`",
        });
      }
      escape = found.value as "\\" | "`";
    }
    directiveNodes.push({ name: found.name, value: found.value, range: source.range(contentStart, line.end) });
    return true;
  };

  for (let line = reader.read(); line; line = reader.read()) {
    const rawEnd = trimCarriageReturns(text, line.start, line.end);
    let contentStart = line.start;
    while (contentStart < rawEnd && isGoSpace(text.charCodeAt(contentStart))) contentStart++;
    const content = text.slice(contentStart, rawEnd);
    const isComment = content.startsWith("#");
    if (isComment) {
      // BuildKit drops the first byte of the raw line, not the `#`, before trimming.
      const comment = trimGoSpace(text.slice(line.start + 1, line.next));
      if (comment === "") comments = [];
      else comments.push(comment);
    }
    if (scanDirective(content, line, contentStart)) comments.pop();
    if (isComment || content.length === 0) continue;

    const startLine = line;
    const logical = new LogicalLine(contentStart);
    let cut = continuationCut(content, escape);
    logical.append(cut < 0 ? content : content.slice(0, cut), contentStart);
    let last = line;
    let emptyContinuation = false;
    while (cut >= 0) {
      const next = reader.read();
      if (!next) break;
      last = next;
      const end = trimCarriageReturns(text, next.start, next.end);
      // (No directive scan here: the section ended at the instruction's first line.)
      const piece = text.slice(next.start, end);
      const firstSolid = skipGoSpace(piece);
      // Comment lines inside a continuation are dropped; blank ones too, with a warning.
      if (firstSolid < piece.length && piece.charCodeAt(firstSolid) === 0x23 /* # */) continue;
      if (firstSolid === piece.length) {
        emptyContinuation = true;
        continue;
      }
      cut = continuationCut(piece, escape);
      logical.append(cut < 0 ? piece : piece.slice(0, cut), next.start);
    }

    const joined = logical.text;
    const map = (start: number, end: number) => {
      const [from, to] = logical.sourceSpan(start, end);
      return source.range(from, to);
    };
    const lineEnd = (physical: PhysicalLine) => physical.end;
    const instructionRange = () => source.range(contentStart, lineEnd(last));
    if (emptyContinuation) {
      warnings.push({
        code: "empty-continuation",
        message: `Empty continuation line found in: ${joined}`,
        range: source.range(contentStart, lineEnd(last)),
      });
    }

    let instruction: InstructionNode;
    try {
      instruction = buildInstruction(joined, { escape, base: 0, map });
    } catch (error) {
      if (error instanceof InstructionLineError) {
        const at = source.position(logical.sourceOffset(error.offset));
        fail(error.reason, { line: at.line, column: at.column, endLine: last.number, hint: error.hint });
      }
      throw error;
    }
    instruction.comments = comments;
    comments = [];

    if (canContainHeredoc(instruction) && joined.includes("<<")) {
      let openers;
      try {
        openers = heredocsFromLine(joined);
      } catch (error) {
        if (error instanceof HeredocWordError) {
          fail(error.reason, { line: startLine.number, column: contentStart - startLine.start + 1, endLine: last.number });
        }
        throw error;
      }
      for (const opener of openers) {
        const parts: string[] = [];
        let bodyStart = -1;
        let terminated = false;
        for (let body = reader.read(); body; body = reader.read()) {
          last = body;
          if (bodyStart < 0) bodyStart = body.start;
          const end = trimCarriageReturns(text, body.start, body.end);
          let from = body.start;
          if (opener.chomp) while (from < end && text.charCodeAt(from) === 0x09) from++;
          if (end - from === opener.name.length && text.startsWith(opener.name, from)) {
            terminated = true;
            break;
          }
          parts.push(text.slice(body.start, body.next));
        }
        if (!terminated) {
          fail("unterminated heredoc", {
            line: startLine.number,
            column: contentStart - startLine.start + 1,
            endLine: last.number,
            hint: `End the heredoc with a line that holds only ${JSON.stringify(opener.name)}`,
          });
        }
        const heredoc: HeredocNode = {
          name: opener.name,
          content: parts.join(""),
          expand: opener.expand,
          chomp: opener.chomp,
          fileDescriptor: opener.fileDescriptor,
          range: source.range(bodyStart, lineEnd(last)),
        };
        instruction.heredocs.push(heredoc);
      }
      // ONBUILD carries its trigger's heredocs, as in BuildKit; the trigger shares them.
      if (instruction.child) instruction.child.heredocs = instruction.heredocs;
    }
    instruction.range = instructionRange();
    instructions.push(instruction);
  }

  if (instructions.length === 0) {
    fail("file with no instructions", {
      line: 1,
      endLine: Math.max(1, reader.linesRead),
      hint: "A Dockerfile needs at least one instruction, such as FROM",
    });
  }
  return {
    file,
    escapeToken: escape,
    directives: directiveNodes,
    instructions,
    warnings,
    range: { start: instructions[0].range.start, end: instructions[instructions.length - 1].range.end },
  };
}

function canContainHeredoc(instruction: InstructionNode): boolean {
  const target = instruction.name === "onbuild" && instruction.child ? instruction.child : instruction;
  return HEREDOC_KEYWORDS.has(target.name) && !target.json;
}

/**
 * Parses text that must hold exactly one instruction (`tsbuild commit -c 'CMD ["x"]'`),
 * with the same rules as a whole Dockerfile (continuations and heredocs included).
 */
export function parseInstructionLine(text: string, options: ParseDockerfileOptions = {}): InstructionNode {
  const ast = parseDockerfile(text, options);
  if (ast.instructions.length !== 1) {
    const second = ast.instructions[1].range.start;
    throw new DockerfileSyntaxError(
      `Cannot parse the instruction: expected one instruction, found ${ast.instructions.length}`,
      { file: ast.file, line: second.line, column: second.column },
      { hint: "Give each instruction separately" },
    );
  }
  return ast.instructions[0];
}
