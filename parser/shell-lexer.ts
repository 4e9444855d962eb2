/**
 * Shell-word expansion exactly as BuildKit's `frontend/dockerfile/shell` lexer does it:
 * `$VAR`, `${VAR}`, the `:- - :+ + :? ?` forms, the `# ## % %% / //` pattern forms, single
 * and double quotes, the active escape token (`\` or a backtick), word splitting, and the
 * four lexer modes. Pure: no file system, no processes. For any input it either returns or
 * throws a `DockerfileSyntaxError`.
 *
 * The behaviour, quirks included, is pinned down by the conformance data in
 * `test/conformance/lexer-suite.ts` and by `test/parser/shell-lexer.test.ts`.
 */
import { goQuote } from "./go-quote.js";
import { isGoSpace } from "./go-space.js";
import { shellEnvLookup, type ShellEnv, type ShellEnvLookup } from "./shell-env.js";
import {
  compileShellPattern,
  isPatternError,
  replaceAllShellPattern,
  replaceFirstShellPattern,
  reverseShellPattern,
  trimShellPrefix,
  trimShellSuffix,
  type ShellPattern,
} from "./shell-pattern.js";
import { DockerfileSyntaxError } from "./syntax-error.js";

export type { ShellEnv } from "./shell-env.js";

/** How to expand. Every mode is off by default, as in a Dockerfile instruction. */
export interface ShellLexerOptions {
  /** The Dockerfile's escape token. Default `\`. */
  escapeToken?: "\\" | "`";
  /** Keep quote characters in the result (BuildKit uses this for RUN step names). */
  rawQuotes?: boolean;
  /** Leave references to unset variables as written (`$X`, `${X:-d}`) instead of expanding them. */
  skipUnsetEnv?: boolean;
  /** Treat quotes as ordinary characters (unquoted COPY/ADD heredoc bodies). */
  skipProcessQuotes?: boolean;
  /** Keep escape tokens in the result instead of removing them. */
  rawEscapes?: boolean;
  /** File name for error locations. Default `<word>`. */
  file?: string;
  /** Line of the word, for error locations. Default 1. */
  line?: number;
  /** Column of the word's first character, for error locations. Default 1. */
  column?: number;
}

/** One expanded word (BuildKit's `ProcessWordWithMatches`). */
export interface ExpandResult {
  value: string;
  /** Names that were looked up and were set (even to `""`). */
  matched: Set<string>;
  /** Names that were looked up and were not set. */
  unmatched: Set<string>;
}

/**
 * Expands one word into one string, keeping whitespace (BuildKit's `ProcessWord` and
 * `ProcessWordWithMatches`).
 *
 * @example
 * expandWord("${NAME:-anon}-$HOME", { HOME: "/root" }).value // "anon-/root"
 * @throws {DockerfileSyntaxError} for forms BuildKit rejects (`${x:=y}`, `${#x}`, an
 * unterminated quote, `${x?}` with x unset ...).
 */
export function expandWord(word: string, env: ShellEnv, options: ShellLexerOptions = {}): ExpandResult {
  const expansion = new Expansion(word, env, options, false);
  const value = expansion.run();
  return { value, matched: expansion.matched, unmatched: expansion.unmatched };
}

/**
 * Expands one word and splits the result on unquoted whitespace (BuildKit's
 * `ProcessWords`). Text that came from quotes or escapes never splits; a quoted empty
 * string yields no word.
 *
 * @example
 * expandWords('a "b c" $X', ["X=d e"]) // ["a", "b c", "d", "e"]
 * @throws {DockerfileSyntaxError} as `expandWord` does.
 */
export function expandWords(word: string, env: ShellEnv, options: ShellLexerOptions = {}): string[] {
  const expansion = new Expansion(word, env, options, true);
  expansion.run();
  return expansion.words;
}

/**
 * Deeper nesting than this is refused instead of risking the call stack. BuildKit has no
 * such limit, but no real Dockerfile comes near it.
 */
export const MAX_EXPANSION_DEPTH = 1000;

const EOF = -1;
const DOLLAR = 0x24;
const LEFT_BRACE = 0x7b;
const RIGHT_BRACE = 0x7d;
const COLON = 0x3a;
const SLASH = 0x2f;
const SINGLE_QUOTE = 0x27;
const DOUBLE_QUOTE = 0x22;
const LESS_THAN = 0x3c;

const SUPPORTED_FORMS =
  "Supported forms: $VAR, ${VAR}, ${VAR:-word}, ${VAR-word}, ${VAR:+word}, ${VAR+word}, ${VAR:?message}, " +
  "${VAR?message}, ${VAR#pattern}, ${VAR##pattern}, ${VAR%pattern}, ${VAR%%pattern}, ${VAR/pattern/replacement}, " +
  "${VAR//pattern/replacement}";

/** Names the bash feature a rejected `${...}` probably meant, then lists what works. */
function unsupportedHint(name: string, modifier: string): string {
  let feature = "";
  if (name === "#" && modifier !== "}") feature = "Length (${#VAR}) is not supported";
  else if (name === "!") feature = "Indirect expansion (${!VAR}) is not supported";
  else if (/^:[0-9 -]/.test(modifier)) feature = "Substrings (${VAR:offset:length}) are not supported";
  else if (modifier === "^" || modifier === ",") feature = "Case changes (${VAR^^}, ${VAR,,}) are not supported";
  else if (modifier === "=" || modifier === ":=") feature = "Assignment (${VAR:=word}) is not supported; use ${VAR:-word}";
  return feature === "" ? SUPPORTED_FORMS : `${feature}. ${SUPPORTED_FORMS}`;
}

/** An expansion problem inside this module, turned into a `DockerfileSyntaxError` at the top. */
class ExpansionFailure {
  constructor(
    readonly message: string,
    /** UTF-16 offset into the word. */
    readonly offset: number,
    readonly hint?: string,
    /** Our own depth limit, which BuildKit's end-of-input rewording must not touch. */
    readonly fixed = false,
  ) {}
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * Reads a word one code point at a time, like Go's `text/scanner`: a byte order mark at
 * the very start is skipped, and a lone surrogate reads as U+FFFD (what its UTF-8 encoding
 * decodes to), so `text` has none.
 */
class CodePointReader {
  readonly text: string;
  position: number;

  constructor(text: string) {
    this.text = text.replace(LONE_SURROGATE, "\ufffd");
    this.position = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  }

  peek(): number {
    return this.position >= this.text.length ? EOF : (this.text.codePointAt(this.position) as number);
  }

  next(): number {
    const point = this.peek();
    if (point !== EOF) this.position += point > 0xffff ? 2 : 1;
    return point;
  }
}

/** Go's `string(rune)`: EOF (-1) becomes U+FFFD. */
function charOf(point: number): string {
  return point < 0 ? "\ufffd" : String.fromCodePoint(point);
}

function isLetter(point: number): boolean {
  if (point < 0x80) return (point >= 0x61 && point <= 0x7a) || (point >= 0x41 && point <= 0x5a);
  return /\p{L}/u.test(String.fromCodePoint(point));
}

function isDigit(point: number): boolean {
  if (point < 0x80) return point >= 0x30 && point <= 0x39;
  return /\p{Nd}/u.test(String.fromCodePoint(point));
}

/** POSIX special parameters; a Dockerfile never sets them, so they expand to nothing. */
function isSpecialParameter(point: number): boolean {
  // @ * # ? - $ ! 0
  return [0x40, 0x2a, 0x23, 0x3f, 0x2d, 0x24, 0x21, 0x30].includes(point);
}

/** One call of `expandWord` or `expandWords`: the reader, the modes and what was looked up. */
class Expansion {
  readonly matched = new Set<string>();
  readonly unmatched = new Set<string>();
  readonly words: string[] = [];
  private readonly reader: CodePointReader;
  private readonly lookupEnv: ShellEnvLookup;
  private readonly escapeToken: number;
  private readonly rawQuotes: boolean;
  private readonly skipUnsetEnv: boolean;
  private readonly skipProcessQuotes: boolean;
  /** Changes while a pattern (`#`, `%`, `/`) is read: those keep their escapes. */
  private rawEscapes: boolean;
  private depth = 0;
  /**
   * The top-level word being built for `expandWords`. BuildKit shares this buffer with the
   * nested reads of `${VAR<op>word}` and empties it there, so text of the current word in
   * front of such an expansion is dropped from the split result (`a${X:-b}c` gives `bc`,
   * while `expandWord` gives `abc`). We do the same, to agree with it.
   */
  private pendingWord = "";

  constructor(
    word: string,
    env: ShellEnv,
    private readonly options: ShellLexerOptions,
    private readonly splitWords: boolean,
  ) {
    this.reader = new CodePointReader(word);
    this.lookupEnv = shellEnvLookup(env);
    this.escapeToken = (options.escapeToken ?? "\\") === "`" ? 0x60 : 0x5c;
    this.rawQuotes = options.rawQuotes === true;
    this.skipUnsetEnv = options.skipUnsetEnv === true;
    this.skipProcessQuotes = options.skipProcessQuotes === true;
    this.rawEscapes = options.rawEscapes === true;
  }

  run(): string {
    try {
      return this.readUntil(EOF, this.rawEscapes);
    } catch (error) {
      if (error instanceof ExpansionFailure) throw this.toSyntaxError(error);
      // A stack overflow despite the depth limit (a tiny stack), or a result longer than a
      // string can be: still the caller's input, not a bug.
      if (error instanceof RangeError) {
        throw this.toSyntaxError(new ExpansionFailure(`expansion too deep or too large: ${error.message}`, 0));
      }
      throw error;
    }
  }

  private toSyntaxError(failure: ExpansionFailure): DockerfileSyntaxError {
    const location = {
      file: this.options.file ?? "<word>",
      line: this.options.line ?? 1,
      column: (this.options.column ?? 1) + failure.offset,
    };
    const reason = `failed to process ${goQuote(this.reader.text)}: ${failure.message}`;
    return new DockerfileSyntaxError(reason, location, failure.hint === undefined ? {} : { hint: failure.hint });
  }

  private lookup(name: string): string | undefined {
    const value = this.lookupEnv(name);
    if (value === undefined) this.unmatched.add(name);
    else this.matched.add(name);
    return value;
  }

  /**
   * Reads up to (and past) `stop`, or to the end for EOF, expanding as it goes. Only the
   * top level (depth 1) collects split words.
   */
  private readUntil(stop: number, rawEscapes: boolean): string {
    const savedRawEscapes = this.rawEscapes;
    this.rawEscapes = rawEscapes;
    this.depth++;
    try {
      if (this.depth > MAX_EXPANSION_DEPTH) {
        throw new ExpansionFailure(
          `syntax error: substitutions nested deeper than ${MAX_EXPANSION_DEPTH} levels`,
          this.reader.position,
          undefined,
          true,
        );
      }
      const collect = this.splitWords && this.depth === 1;
      if (this.depth > 1) this.pendingWord = "";
      const reader = this.reader;
      let result = "";
      for (;;) {
        const point = reader.peek();
        if (point === EOF) break;
        if (stop !== EOF && point === stop) {
          reader.next();
          return result;
        }
        if (point === DOLLAR) {
          const value = this.readDollar();
          result += value;
          if (collect) this.addSplitting(value);
          continue;
        }
        let special: string | undefined;
        if (point === LESS_THAN) special = this.readHeredocOpener();
        else if (point === SINGLE_QUOTE && !this.skipProcessQuotes) special = this.readSingleQuoted();
        else if (point === DOUBLE_QUOTE && !this.skipProcessQuotes) special = this.readDoubleQuoted();
        if (special !== undefined) {
          result += special;
          if (collect) this.pendingWord += special;
          continue;
        }
        if (point !== this.escapeToken) {
          // Copy a run of characters that need no attention in one go.
          const end = this.plainRunEnd(stop, collect);
          if (end > reader.position) {
            const text = reader.text.slice(reader.position, end);
            reader.position = end;
            result += text;
            if (collect) this.pendingWord += text;
            continue;
          }
        }
        reader.next();
        if (point === this.escapeToken) {
          if (this.rawEscapes) {
            result += charOf(point);
            if (collect) this.pendingWord += charOf(point);
          }
          // The escaped character never splits and is never special; a lone escape at the
          // end of the word disappears.
          const escaped = reader.next();
          if (escaped === EOF) break;
          result += charOf(escaped);
          if (collect) this.pendingWord += charOf(escaped);
          continue;
        }
        const char = charOf(point);
        result += char;
        if (collect) this.addSplittingChar(point, char);
      }
      if (stop !== EOF) {
        throw new ExpansionFailure(`unexpected end of statement while looking for matching ${charOf(stop)}`, reader.position);
      }
      if (collect && this.pendingWord !== "") {
        this.words.push(this.pendingWord);
        this.pendingWord = "";
      }
      return result;
    } finally {
      this.depth--;
      this.rawEscapes = savedRawEscapes;
    }
  }

  /** Where the run of ordinary characters from the reader's position ends. */
  private plainRunEnd(stop: number, splitting: boolean): number {
    const text = this.reader.text;
    let i = this.reader.position;
    for (; i < text.length; i++) {
      const code = text.charCodeAt(i);
      if (code === DOLLAR || code === LESS_THAN || code === this.escapeToken || code === stop) break;
      if ((code === SINGLE_QUOTE || code === DOUBLE_QUOTE) && !this.skipProcessQuotes) break;
      if (splitting && isGoSpace(code)) break;
    }
    return i;
  }

  private addSplittingChar(point: number, char: string): void {
    if (!isGoSpace(point)) {
      this.pendingWord += char;
    } else if (this.pendingWord !== "") {
      this.words.push(this.pendingWord);
      this.pendingWord = "";
    }
  }

  /** Expanded variable text splits on whitespace, like unquoted text. */
  private addSplitting(text: string): void {
    for (const char of text) this.addSplittingChar(char.codePointAt(0) as number, char);
  }

  /** `<<` plus any blanks after it stay together, so `cat << EOF` keeps `<< EOF` as one word. */
  private readHeredocOpener(): string {
    const reader = this.reader;
    reader.next();
    if (reader.peek() !== LESS_THAN) return "<";
    reader.next();
    let out = "<<";
    for (let point = reader.peek(); point === 0x20 || point === 0x09 || point === 0x0d; point = reader.peek()) {
      out += charOf(reader.next());
    }
    return out;
  }

  /** Everything up to the next `'` is literal; a `'` cannot be escaped inside. */
  private readSingleQuoted(): string {
    const reader = this.reader;
    const openedAt = reader.position;
    reader.next();
    const close = reader.text.indexOf("'", reader.position);
    if (close < 0) {
      // Like BuildKit, read to the end first: an enclosing ${ then reports its missing }.
      reader.position = reader.text.length;
      throw new ExpansionFailure("unexpected end of statement while looking for matching single-quote", openedAt, "Close the single quote");
    }
    const inside = reader.text.slice(reader.position, close);
    reader.position = close + 1;
    return this.rawQuotes ? `'${inside}'` : inside;
  }

  /** `$` expands inside double quotes; the escape token escapes only `"`, `$` and itself. */
  private readDoubleQuoted(): string {
    const reader = this.reader;
    const openedAt = reader.position;
    reader.next();
    let out = this.rawQuotes ? '"' : "";
    for (;;) {
      const point = reader.peek();
      if (point === EOF) {
        throw new ExpansionFailure("unexpected end of statement while looking for matching double-quote", openedAt, "Close the double quote");
      }
      if (point === DOUBLE_QUOTE) {
        reader.next();
        return this.rawQuotes ? out + '"' : out;
      }
      if (point === DOLLAR) {
        out += this.readDollar();
        continue;
      }
      if (point !== this.escapeToken) {
        // Copy up to the next character that needs attention.
        const text = reader.text;
        let end = reader.position + 1;
        while (end < text.length) {
          const code = text.charCodeAt(end);
          if (code === DOUBLE_QUOTE || code === DOLLAR || code === this.escapeToken) break;
          end++;
        }
        out += text.slice(reader.position, end);
        reader.position = end;
        continue;
      }
      reader.next();
      let char = point;
      if (point === this.escapeToken) {
        if (this.rawEscapes) out += charOf(point);
        const after = reader.peek();
        // A lone escape before the end: the loop reports the missing quote.
        if (after === EOF) continue;
        if (after === DOUBLE_QUOTE || after === DOLLAR || after === this.escapeToken) char = reader.next();
      }
      out += charOf(char);
    }
  }

  /**
   * A variable name: a run of digits (positional parameters), one special parameter, or
   * letters, digits and `_` (Unicode letters included). Empty when none follows.
   */
  private readName(): string {
    const reader = this.reader;
    const first = reader.peek();
    if (first === EOF) return "";
    if (isDigit(first)) {
      let digits = "";
      while (isDigit(reader.peek())) digits += charOf(reader.next());
      return digits;
    }
    if (isSpecialParameter(first)) return charOf(reader.next());
    let name = "";
    for (let point = reader.peek(); point !== EOF; point = reader.peek()) {
      if (!isLetter(point) && !isDigit(point) && point !== 0x5f) break;
      name += charOf(reader.next());
    }
    return name;
  }

  /** Reads the word of a `${VAR<op>word}`, with BuildKit's wording when the input ends first. */
  private readNested(stop: number, rawEscapes: boolean, dollarAt: number, endMessage: string): string {
    try {
      return this.readUntil(stop, rawEscapes);
    } catch (error) {
      // BuildKit rewords any failure that left the reader at the end of the input.
      if (error instanceof ExpansionFailure && !error.fixed && this.reader.peek() === EOF) {
        throw new ExpansionFailure(endMessage, dollarAt, `Close the substitution that starts here with "}"`);
      }
      throw error;
    }
  }

  private readDollar(): string {
    const reader = this.reader;
    const dollarAt = reader.position;
    reader.next();
    if (reader.peek() !== LEFT_BRACE) {
      const name = this.readName();
      if (name === "") return "$";
      const value = this.lookup(name);
      if (value === undefined && this.skipUnsetEnv) return "$" + name;
      return value ?? "";
    }
    reader.next();
    const first = reader.peek();
    if (first === EOF) {
      throw new ExpansionFailure("syntax error: missing '}'", dollarAt, `Close the substitution with "}"`);
    }
    if (first === LEFT_BRACE || first === RIGHT_BRACE || first === COLON) {
      const escape = charOf(this.escapeToken);
      throw new ExpansionFailure(
        "syntax error: bad substitution",
        reader.position,
        `Put a variable name after "\${", or write ${escape}\${ for a literal "\${"`,
      );
    }
    const name = this.readName();
    const modifierAt = reader.position;
    let op = reader.next();
    let modifier = charOf(op);
    const unsupported = (): ExpansionFailure =>
      new ExpansionFailure(
        `unsupported modifier (${modifier}) in substitution`,
        op === EOF ? dollarAt : modifierAt,
        unsupportedHint(name, modifier),
      );

    if (op === RIGHT_BRACE) {
      const value = this.lookup(name);
      if (value === undefined && this.skipUnsetEnv) return `\${${name}}`;
      return value ?? "";
    }
    if (op === SLASH) return this.readReplacement(name, dollarAt);

    let colon = false;
    if (op === COLON) {
      colon = true;
      op = reader.next();
      modifier += charOf(op);
    } else if (!"+-?#%".includes(charOf(op))) {
      throw unsupported();
    }
    const isPattern = op === 0x23 || op === 0x25;
    // `${VAR:#...}` and `${VAR:%...}` are refused before their word is read.
    if (colon && isPattern) throw unsupported();
    const word = this.readNested(RIGHT_BRACE, isPattern, dollarAt, "syntax error: missing '}'");

    const value = this.lookup(name);
    if (value === undefined && this.skipUnsetEnv) return `\${${name}${modifier}${word}}`;
    const unsetOrNull = value === undefined || (colon && value === "");
    switch (op) {
      case 0x2d: // -
        return unsetOrNull ? word : (value as string);
      case 0x2b: // +
        return unsetOrNull ? "" : word;
      case 0x3f: {
        // ?
        if (!unsetOrNull) return value as string;
        const message = word !== "" ? word : value === undefined ? "is not allowed to be unset" : "is not allowed to be empty";
        throw new ExpansionFailure(`${name}: ${message}`, dollarAt, `Set "${name}" (ARG, ENV or --build-arg) before it is used here`);
      }
      case 0x23: // #
      case 0x25: {
        // %: one sign for the shortest match, two for the longest.
        const greedy = word.codePointAt(0) === op;
        const pattern = greedy ? word.slice(1) : word;
        return op === 0x25
          ? this.trimSuffix(value ?? "", pattern, greedy, dollarAt)
          : this.trimPrefix(value ?? "", pattern, greedy, dollarAt);
      }
      default:
        throw unsupported();
    }
  }

  /** `${VAR/pattern/replacement}` and `${VAR//pattern/replacement}`; the `/` is already read. */
  private readReplacement(name: string, dollarAt: number): string {
    const reader = this.reader;
    const all = reader.peek() === SLASH;
    if (all) reader.next();
    const pattern = this.readNested(SLASH, true, dollarAt, "syntax error: missing '/' in ${}");
    const replacement = this.readNested(RIGHT_BRACE, true, dollarAt, "syntax error: missing '}'");
    const value = this.lookup(name);
    // BuildKit writes a single `/` back even for `//`.
    if (value === undefined && this.skipUnsetEnv) return `\${${name}/${pattern}/${replacement}}`;
    const compiled = this.compile(pattern, dollarAt);
    const text = value ?? "";
    return all ? replaceAllShellPattern(text, compiled, replacement) : replaceFirstShellPattern(text, compiled, replacement);
  }

  private trimPrefix(value: string, pattern: string, greedy: boolean, dollarAt: number): string {
    return trimShellPrefix(value, this.compile(pattern, dollarAt), greedy);
  }

  /** BuildKit reverses pattern and value and trims a prefix, so errors show the reversed pattern. */
  private trimSuffix(value: string, pattern: string, greedy: boolean, dollarAt: number): string {
    return trimShellSuffix(value, this.compile(reverseShellPattern(pattern), dollarAt), greedy);
  }

  private compile(pattern: string, dollarAt: number): ShellPattern {
    const compiled = compileShellPattern(pattern);
    if (isPatternError(compiled)) {
      throw new ExpansionFailure(
        `invalid pattern (${pattern}) in substitution: ${compiled.error}`,
        dollarAt,
        "In a pattern only \\*, \\?, \\\\, \\} and \\/ may be escaped",
      );
    }
    return compiled;
  }
}
