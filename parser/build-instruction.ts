import type { ArgNode, FlagNode, InstructionNode, SourceRange } from "./ast.js";
import { goQuote } from "./go-quote.js";
import { isAsciiBlank, isGoSpace, skipGoSpace, skipGoSpaceBack } from "./go-space.js";
import { instructionGrammar, type GrammarWord } from "./instruction-grammar.js";
import { parseJsonArray } from "./json-array.js";

/** Maps offsets of the logical line to source ranges. */
export type RangeMapper = (start: number, end: number) => SourceRange;

/** A bad instruction line; offsets are in the logical line. The caller adds the file and line. */
export class InstructionLineError extends Error {
  readonly offset: number;
  readonly hint: string | undefined;

  constructor(reason: string, where: { offset: number; hint?: string }) {
    super(reason);
    this.offset = where.offset;
    this.hint = where.hint;
  }

  get reason(): string {
    return this.message;
  }
}

const NOT_STRINGS = "when using JSON array syntax, arrays must be comprised of strings only";

/** Go's strings.ToLower for keywords: per code point, so `Σ` never becomes a final `ς`. */
export function lowerKeyword(keyword: string): string {
  if (/^[\x00-\x7f]*$/.test(keyword)) return keyword.toLowerCase();
  let out = "";
  for (const char of keyword) out += char === "\u0130" ? "i" : char.toLowerCase();
  return out;
}

/**
 * Turns one logical line (continuations joined) into an instruction node, the way
 * BuildKit's `newNodeFromLine` does: trim, split off the keyword at the first ASCII blank
 * run, take `--flags` off the front, then shape the arguments by keyword.
 * `base` is where `line` starts in the logical line (non-zero for ONBUILD's inner line).
 */
export function buildInstruction(line: string, options: { escape: string; base: number; map: RangeMapper }): InstructionNode {
  const { escape, map } = options;
  const trimStart = skipGoSpace(line);
  const trimmed = line.slice(trimStart, Math.max(trimStart, skipGoSpaceBack(line)));
  const at = options.base + trimStart;
  const span = (start: number, end: number) => map(at + start, at + end);

  if (trimmed.length === 0) {
    // An empty logical line (a lone continuation at the end of the file) is an unknown
    // instruction with an empty keyword, as in BuildKit.
    const empty = span(0, 0);
    return node({ keyword: "", name: "", flags: [], args: [{ value: "", range: empty }], json: false, original: line, range: empty, keywordRange: empty });
  }

  const grammar = instructionGrammar();
  const { shape, tokens } = grammar.readLine(trimmed, escape);
  const keyword = trimmed.slice(0, shape.keywordEnd);
  const name = lowerKeyword(keyword);
  const flags: FlagNode[] = shape.flags.map((flag) => flagNode(flag, span(flag.start, flag.end)));

  let restStart = skipGoSpace(trimmed, shape.restStart);
  const rest = trimmed.slice(restStart);
  if (rest.length === 0) restStart = trimmed.length;
  let tokenIndex = tokens.length;
  for (let i = 0; i < tokens.length; i++) {
    if (tokens[i].startOffset >= restStart) {
      tokenIndex = i;
      break;
    }
  }
  const arg = (value: string, [start, end]: [number, number]): ArgNode => ({ value, range: span(restStart + start, restStart + end) });
  const fromWord = (word: GrammarWord): ArgNode => ({ value: word.value, range: span(word.start, word.end) });
  const whole = (): ArgNode[] => (rest.length === 0 ? [] : [arg(rest, [0, rest.length])]);
  const blankList = (): ArgNode[] => (rest.length === 0 ? [] : grammar.readBlankList(tokens, tokenIndex, trimmed).map(fromWord));
  const fail = (reason: string, offset: number, hint?: string): never => {
    throw new InstructionLineError(reason, { offset: at + offset, hint });
  };

  let args: ArgNode[] = [];
  let json = false;
  let child: InstructionNode | undefined;

  const maybeJson = (text: string, offset: number): ArgNode[] | undefined => {
    const result = parseJsonArray(text);
    if (result.kind === "not-strings") {
      fail(NOT_STRINGS, offset, "Quote every element of the exec form, or write the command in shell form");
    }
    if (result.kind !== "strings") return undefined;
    json = true;
    return result.values.map((value, i) => arg(value, [offset - restStart + result.spans[i][0], offset - restStart + result.spans[i][1]]));
  };

  switch (name) {
    case "from":
    case "expose":
      args = blankList();
      break;
    case "add":
    case "copy":
    case "volume":
      args = maybeJson(rest, restStart) ?? blankList();
      break;
    case "run":
    case "cmd":
    case "entrypoint":
    case "shell":
      args = rest.length === 0 ? [] : (maybeJson(rest, restStart) ?? whole());
      break;
    case "maintainer":
    case "user":
    case "workdir":
    case "stopsignal":
      args = whole();
      break;
    case "arg":
      args = rest.length === 0 ? [] : grammar.readWords(tokens, tokenIndex, escape).map(fromWord);
      break;
    case "env":
    case "label":
      args = rest.length === 0 ? [] : nameValues(name.toUpperCase(), rest, restStart, grammar.readWords(tokens, tokenIndex, escape));
      break;
    case "healthcheck":
      args = healthcheck();
      break;
    case "onbuild":
      if (rest.length > 0) child = buildInstruction(rest, { escape, base: at + restStart, map });
      break;
    default:
      // Unknown instructions parse; the instruction layer rejects them with their name.
      args = [arg("", [0, rest.length])];
  }

  return node({ keyword, name, flags, args, json, original: line, range: span(0, trimmed.length), keywordRange: span(0, shape.keywordEnd), child });

  function nameValues(what: string, text: string, offset: number, words: GrammarWord[]): ArgNode[] {
    if (words.length === 0) return [];
    if (!words[0].value.includes("=")) {
      // Legacy `KEY value`: the value is the raw rest after the first blank run.
      let split = 0;
      while (split < text.length && !isAsciiBlank(text.charCodeAt(split))) split++;
      let valueStart = split;
      while (valueStart < text.length && isAsciiBlank(text.charCodeAt(valueStart))) valueStart++;
      if (split === text.length) {
        fail(`${what} must have two arguments`, offset, `Give the name a value: ${what} ${text}=<value>`);
      }
      const key = arg(text.slice(0, split), [0, split]);
      return [key, arg(text.slice(valueStart), [valueStart, text.length]), arg("", [text.length, text.length])];
    }
    const nodes: ArgNode[] = [];
    for (const word of words) {
      const eq = word.value.indexOf("=");
      if (eq < 0) {
        fail(
          `Syntax error - can't find = in ${goQuote(word.value)}. Must be of the form: name=value`,
          word.start,
          "Every word must be a name=value pair; quote values that contain spaces",
        );
      }
      nodes.push(
        { value: word.value.slice(0, eq), range: span(word.start, word.start + eq) },
        { value: word.value.slice(eq + 1), range: span(word.start + eq + 1, word.end) },
        { value: "=", range: span(word.start + eq, word.start + eq + 1) },
      );
    }
    return nodes;
  }

  function healthcheck(): ArgNode[] {
    // BuildKit tests single bytes with unicode.IsSpace here; as code points that is the
    // ASCII blanks plus U+0085 and U+00A0 (see docs: a documented deviation for other
    // characters whose UTF-8 form holds byte 0x85 or 0xA0).
    const isSep = (code: number) => code === 0x85 || code === 0xa0 || (code < 0x80 && isGoSpace(code));
    let sep = 0;
    while (sep < rest.length && !isSep(rest.charCodeAt(sep))) sep++;
    if (sep === 0) return [];
    let next = sep;
    while (next < rest.length && isSep(rest.charCodeAt(next))) next++;
    const type = arg(rest.slice(0, sep), [0, sep]);
    const command = rest.slice(next);
    if (command.length === 0) return [type];
    return [type, ...(maybeJson(command, restStart + next) ?? [arg(command, [next, rest.length])])];
  }
}

function flagNode(flag: GrammarWord, range: SourceRange): FlagNode {
  const body = flag.value.replace(/^-+/, "");
  const eq = body.indexOf("=");
  return {
    raw: flag.value,
    name: eq < 0 ? body : body.slice(0, eq),
    value: eq < 0 ? undefined : body.slice(eq + 1),
    range,
  };
}

function node(parts: Omit<InstructionNode, "heredocs" | "comments">): InstructionNode {
  const result: InstructionNode = { ...parts, heredocs: [], comments: [] };
  if (!parts.child) delete result.child;
  return result;
}

