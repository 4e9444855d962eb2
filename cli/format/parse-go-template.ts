/**
 * A parser for the part of Go's text/template that docker users write in `--format`:
 * actions with pipelines (`{{.Name | printf "%q"}}`), fields, variables and function calls,
 * `if`/`else if`/`else`, `range` (with `$i, $v :=`), `with`, `break`/`continue`, comments
 * and the `{{-`/`-}}` trim markers. `define`, `template` and `block` are refused.
 *
 * No npm library covers this (the one Go-template package lacks pipelines, `printf`,
 * variables and trim markers), hence the hand-written lexer and recursive descent here.
 */

export type GoTemplateNode =
  | { kind: "text"; text: string }
  | { kind: "action"; pipe: Pipeline; at: string }
  | { kind: "if" | "with"; pipe: Pipeline; body: GoTemplateNode[]; otherwise: GoTemplateNode[] | undefined; at: string }
  | { kind: "range"; pipe: Pipeline; body: GoTemplateNode[]; otherwise: GoTemplateNode[] | undefined; at: string }
  | { kind: "break" | "continue" };

/** `$x := cmd | cmd`: the variables it declares (or assigns) and its commands. */
export interface Pipeline {
  variables: string[];
  assign: boolean;
  commands: Operand[][];
}

export type Operand =
  | { kind: "dot" }
  | { kind: "variable"; name: string }
  | { kind: "function"; name: string }
  | { kind: "literal"; value: string | number | boolean | null }
  | { kind: "pipe"; pipe: Pipeline }
  /** `.A.B`, `$x.A`, `(pipe).A`: fields read one after another from `receiver`. */
  | { kind: "field"; receiver: Operand; names: string[] };

/** A template that does not parse; `message` reads as Go's text after "template: ". */
export class GoTemplateSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "GoTemplateSyntaxError";
  }
}

interface Token {
  type: "field" | "variable" | "identifier" | "string" | "number" | "char" | "pipe" | "open" | "close" | "declare" | "assign" | "comma" | "dot";
  text: string;
  /** True when white space stands before it: `$x.A` chains, `$x .A` are two operands. */
  spaced: boolean;
}

const PUNCTUATION: Record<string, Token["type"]> = { "|": "pipe", "(": "open", ")": "close", ",": "comma" };

const KEYWORDS = new Set(["if", "else", "end", "range", "with", "break", "continue", "define", "template", "block"]);

/** Parses `source` into a node list. */
export function parseGoTemplate(source: string): GoTemplateNode[] {
  return new TemplateParser(source).parse();
}

class TemplateParser {
  readonly #source: string;
  #pos = 0;
  #line = 1;
  #rangeDepth = 0;

  constructor(source: string) {
    this.#source = source;
  }

  parse(): GoTemplateNode[] {
    const { nodes, end } = this.#list();
    if (end !== undefined) throw this.#error(`unexpected {{${end.word}}}`);
    return nodes;
  }

  /** Nodes up to an `else` or `end` action (returned as `end`), or the end of the text. */
  #list(): { nodes: GoTemplateNode[]; end: { word: "else" | "end"; rest: Token[] } | undefined } {
    const nodes: GoTemplateNode[] = [];
    for (;;) {
      const open = this.#source.indexOf("{{", this.#pos);
      let text = this.#source.slice(this.#pos, open === -1 ? undefined : open);
      if (open === -1) {
        if (text) nodes.push({ kind: "text", text });
        this.#pos = this.#source.length;
        return { nodes, end: undefined };
      }
      const trimLeft = /^\{\{- /.test(this.#source.slice(open, open + 4)) || /^\{\{-[\t\r\n]/.test(this.#source.slice(open, open + 4));
      if (trimLeft) text = text.replace(/[ \t\r\n]+$/, "");
      if (text) nodes.push({ kind: "text", text });
      this.#advanceTo(open + (trimLeft ? 3 : 2));
      const { inner, trimRight } = this.#actionText();
      const trimmed = inner.trim();
      if (trimmed.startsWith("/*")) {
        if (!trimmed.endsWith("*/")) throw this.#error("unclosed comment");
      } else {
        const tokens = this.#tokens(inner);
        if (tokens.length === 0) throw this.#error("missing value for command");
        const node = this.#action(tokens, open);
        if (node === "else" || node === "end") {
          if (trimRight) this.#skipSpace();
          return { nodes, end: { word: node, rest: tokens.slice(1) } };
        }
        nodes.push(node);
      }
      if (trimRight) this.#skipSpace();
    }
  }

  /** The text of the action starting at the cursor, up to its `}}`, which it consumes. */
  #actionText(): { inner: string; trimRight: boolean } {
    // A `}}` inside a quoted string does not close the action.
    let i = this.#pos;
    let quote: string | undefined;
    for (; i < this.#source.length; i++) {
      const char = this.#source[i];
      if (quote !== undefined) {
        if (char === "\\" && quote !== "`") i++;
        else if (char === quote) quote = undefined;
      } else if (char === '"' || char === "`" || char === "'") {
        quote = char;
      } else if (this.#source.startsWith("}}", i)) {
        break;
      }
    }
    if (i >= this.#source.length) throw this.#error("unclosed action");
    let inner = this.#source.slice(this.#pos, i);
    const trimRight = / -$/.test(inner) || /[\t\r\n]-$/.test(inner);
    if (trimRight) inner = inner.slice(0, -1);
    this.#advanceTo(i + 2);
    return { inner, trimRight };
  }

  #advanceTo(pos: number): void {
    for (let i = this.#pos; i < pos; i++) if (this.#source[i] === "\n") this.#line++;
    this.#pos = pos;
  }

  #skipSpace(): void {
    let i = this.#pos;
    while (i < this.#source.length && " \t\r\n".includes(this.#source[i])) i++;
    this.#advanceTo(i);
  }

  #action(tokens: Token[], offset: number): GoTemplateNode | "else" | "end" {
    const at = this.#source.slice(offset, this.#pos);
    const first = tokens[0];
    const word = first.type === "identifier" && KEYWORDS.has(first.text) ? first.text : undefined;
    switch (word) {
      case undefined:
        return { kind: "action", pipe: this.#pipeline(tokens, true), at };
      case "else":
      case "end":
        return word;
      case "break":
      case "continue":
        if (tokens.length > 1) throw this.#error(`unexpected ${tokens[1].text} in {{${word}}}`);
        if (this.#rangeDepth === 0) throw this.#error(`{{${word}}} outside {{range}}`);
        return { kind: word };
      case "if":
      case "with":
      case "range":
        return this.#block(word, tokens.slice(1), at);
      default:
        throw this.#error(`{{${word}}} is not supported in --format`);
    }
  }

  /** `if`, `with` or `range` with its pipeline, body and `else` branch (`else if` nests). */
  #block(kind: "if" | "with" | "range", tokens: Token[], at: string): GoTemplateNode {
    if (tokens.length === 0) throw this.#error(`missing value for ${kind}`);
    const pipe = this.#pipeline(tokens, true, kind === "range");
    if (kind === "range") this.#rangeDepth++;
    const body = this.#list();
    if (kind === "range") this.#rangeDepth--;
    if (body.end === undefined) throw this.#error(`unexpected EOF: {{${kind}}} has no {{end}}`);
    let otherwise: GoTemplateNode[] | undefined;
    if (body.end.word === "else") {
      const rest = body.end.rest;
      const chained = rest[0]?.type === "identifier" && (rest[0].text === "if" || rest[0].text === "with") ? rest[0].text : undefined;
      if (chained !== undefined) {
        // `{{else if x}}` is `{{else}}{{if x}}...{{end}}` sharing this block's {{end}}.
        otherwise = [this.#block(chained as "if" | "with", rest.slice(1), at)];
      } else {
        if (rest.length > 0) throw this.#error(`unexpected ${rest[0].text} in {{else}}`);
        const tail = this.#list();
        if (tail.end?.word !== "end") throw this.#error(tail.end === undefined ? `unexpected EOF: {{${kind}}} has no {{end}}` : "expected {{end}} after {{else}}");
        if (tail.end.rest.length > 0) throw this.#error(`unexpected ${tail.end.rest[0].text} in {{end}}`);
        otherwise = tail.nodes;
      }
    } else if (body.end.rest.length > 0) {
      throw this.#error(`unexpected ${body.end.rest[0].text} in {{end}}`);
    }
    return { kind, pipe, body: body.nodes, otherwise, at };
  }

  #pipeline(tokens: Token[], allowDeclare: boolean, twoVariables = false): Pipeline {
    let variables: string[] = [];
    let assign = false;
    let i = 0;
    // `$x :=`, `$x =`, and in range `$i, $v :=`.
    const declareAt = tokens.findIndex((t) => t.type === "declare" || t.type === "assign");
    if (declareAt > 0 && tokens.slice(0, declareAt).every((t, j) => (j % 2 === 0 ? t.type === "variable" : t.type === "comma"))) {
      if (!allowDeclare) throw this.#error("unexpected declaration");
      variables = tokens.slice(0, declareAt).filter((t) => t.type === "variable").map((t) => t.text);
      if (variables.length > (twoVariables ? 2 : 1)) throw this.#error("too many declarations");
      assign = tokens[declareAt].type === "assign";
      i = declareAt + 1;
    }
    const commands: Operand[][] = [[]];
    let depth = 0;
    let start = i;
    const flush = (end: number) => {
      const command = this.#operands(tokens.slice(start, end));
      if (command.length === 0) throw this.#error("missing command in pipeline");
      commands[commands.length - 1] = command;
    };
    for (; i < tokens.length; i++) {
      const token = tokens[i];
      if (token.type === "open") depth++;
      else if (token.type === "close") depth--;
      else if (token.type === "pipe" && depth === 0) {
        flush(i);
        commands.push([]);
        start = i + 1;
      }
    }
    if (depth !== 0) throw this.#error("unbalanced parentheses");
    flush(tokens.length);
    return { variables, assign, commands };
  }

  /** The operands of one command: a function and its arguments, or one value. */
  #operands(tokens: Token[]): Operand[] {
    const operands: Operand[] = [];
    for (let i = 0; i < tokens.length; i++) {
      const token = tokens[i];
      let operand: Operand;
      switch (token.type) {
        case "dot":
          operand = { kind: "dot" };
          break;
        case "field":
          operand = { kind: "field", receiver: { kind: "dot" }, names: token.text.slice(1).split(".") };
          break;
        case "variable":
          operand = { kind: "variable", name: token.text };
          break;
        case "string":
          operand = { kind: "literal", value: token.text };
          break;
        case "char":
          operand = { kind: "literal", value: token.text.codePointAt(0) ?? 0 };
          break;
        case "number":
          operand = { kind: "literal", value: parseNumber(token.text, () => this.#error(`bad number syntax: "${token.text}"`)) };
          break;
        case "identifier":
          if (token.text === "true" || token.text === "false") operand = { kind: "literal", value: token.text === "true" };
          else if (token.text === "nil") operand = { kind: "literal", value: null };
          else if (KEYWORDS.has(token.text)) throw this.#error(`unexpected ${token.text} in operand`);
          else operand = { kind: "function", name: token.text };
          break;
        case "open": {
          let depth = 1;
          let j = i + 1;
          for (; j < tokens.length && depth > 0; j++) {
            if (tokens[j].type === "open") depth++;
            else if (tokens[j].type === "close") depth--;
          }
          operand = { kind: "pipe", pipe: this.#pipeline(tokens.slice(i + 1, j - 1), false) };
          i = j - 1;
          break;
        }
        default:
          throw this.#error(`unexpected "${token.text}" in command`);
      }
      // A field right after an operand, with no space, reads a field of it: `$x.A`, `(f).B`.
      while (tokens[i + 1]?.type === "field" && !tokens[i + 1].spaced && operand.kind !== "function" && operand.kind !== "literal") {
        const names = tokens[++i].text.slice(1).split(".");
        operand = operand.kind === "field" ? { ...operand, names: [...operand.names, ...names] } : { kind: "field", receiver: operand, names };
      }
      operands.push(operand);
    }
    return operands;
  }

  #tokens(text: string): Token[] {
    const tokens: Token[] = [];
    let i = 0;
    let spaced = true;
    const push = (type: Token["type"], value: string) => {
      tokens.push({ type, text: value, spaced });
      spaced = false;
    };
    while (i < text.length) {
      const char = text[i];
      const rest = text.slice(i);
      let match: RegExpMatchArray | null;
      if (" \t\r\n".includes(char)) {
        spaced = true;
        i++;
      } else if (PUNCTUATION[char] !== undefined) {
        push(PUNCTUATION[char], char);
        i++;
      } else if (rest.startsWith(":=")) {
        push("declare", ":=");
        i += 2;
      } else if (char === "=") {
        push("assign", "=");
        i++;
      } else if ((match = /^\.[\p{L}_][\p{L}\p{N}_]*(?:\.[\p{L}_][\p{L}\p{N}_]*)*/u.exec(rest))) {
        push("field", match[0]);
        i += match[0].length;
      } else if ((match = /^[-+]?(?:0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+|(?:[0-9][0-9_]*\.?[0-9_]*|\.[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)?)/.exec(rest)) && match[0] !== "-" && match[0] !== "+") {
        push("number", match[0]);
        i += match[0].length;
      } else if (char === ".") {
        push("dot", char);
        i++;
      } else if ((match = /^\$[\p{L}\p{N}_]*/u.exec(rest))) {
        push("variable", match[0]);
        i += match[0].length;
      } else if ((match = /^[\p{L}_][\p{L}\p{N}_]*/u.exec(rest))) {
        push("identifier", match[0]);
        i += match[0].length;
      } else if (char === '"' || char === "'") {
        const end = closingQuote(text, i);
        if (end === -1) throw this.#error(`unterminated quoted string`);
        const value = unquote(text.slice(i, end + 1), () => this.#error(`bad quoted string ${text.slice(i, end + 1)}`));
        if (char === "'" && [...value].length !== 1) throw this.#error(`bad character constant ${text.slice(i, end + 1)}`);
        push(char === "'" ? "char" : "string", value);
        i = end + 1;
      } else if (char === "`") {
        const end = text.indexOf("`", i + 1);
        if (end === -1) throw this.#error("unterminated raw quoted string");
        push("string", text.slice(i + 1, end));
        i = end + 1;
      } else {
        throw this.#error(`unexpected "${char}" in command`);
      }
    }
    return tokens;
  }

  #error(message: string): GoTemplateSyntaxError {
    return new GoTemplateSyntaxError(`:${this.#line}: ${message}`);
  }
}

function closingQuote(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    if (text[i] === "\\") i++;
    else if (text[i] === text[start]) return i;
    else if (text[i] === "\n") return -1;
  }
  return -1;
}

const ESCAPES: Record<string, string> = { a: "\x07", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t", v: "\v", "\\": "\\", '"': '"', "'": "'" };

/** Go's strconv.Unquote for "..." and '...'. */
function unquote(quoted: string, fail: () => Error): string {
  let out = "";
  const body = quoted.slice(1, -1);
  for (let i = 0; i < body.length; i++) {
    if (body[i] !== "\\") {
      out += body[i];
      continue;
    }
    const next = body[++i];
    if (ESCAPES[next] !== undefined) {
      out += ESCAPES[next];
    } else if (next === "x" || next === "u" || next === "U") {
      const digits = next === "x" ? 2 : next === "u" ? 4 : 8;
      const hex = body.slice(i + 1, i + 1 + digits);
      if (!new RegExp(`^[0-9a-fA-F]{${digits}}$`).test(hex)) throw fail();
      out += String.fromCodePoint(parseInt(hex, 16));
      i += digits;
    } else if (/[0-7]/.test(next ?? "")) {
      const octal = body.slice(i, i + 3);
      if (!/^[0-7]{3}$/.test(octal)) throw fail();
      out += String.fromCharCode(parseInt(octal, 8));
      i += 2;
    } else {
      throw fail();
    }
  }
  return out;
}

function parseNumber(text: string, fail: () => Error): number {
  const clean = text.replace(/_/g, "");
  const sign = clean.startsWith("-") ? -1 : 1;
  const unsigned = clean.replace(/^[-+]/, "");
  let value: number;
  if (/^0[xX]/.test(unsigned)) value = parseInt(unsigned.slice(2), 16);
  else if (/^0[bB]/.test(unsigned)) value = parseInt(unsigned.slice(2), 2);
  else if (/^0[oO]/.test(unsigned)) value = parseInt(unsigned.slice(2), 8);
  else if (/^0[0-7]+$/.test(unsigned)) value = parseInt(unsigned, 8);
  else value = Number(unsigned);
  if (Number.isNaN(value)) throw fail();
  return sign * value;
}
