import { isGoSpace } from "./go-space.js";

/**
 * The part of BuildKit's shell lexer that heredoc detection runs, over an empty
 * environment with unset variables kept as written: it splits text into words, keeps
 * `<<` plus any blanks after it glued to the next word, and reports the errors BuildKit
 * reports (unterminated quotes, bad `${...}`). `rawQuotes` keeps quote characters and
 * `rawEscapes` keeps escape characters, as the two lexer modes BuildKit uses here do.
 */
export interface HeredocLexOptions {
  rawQuotes: boolean;
  rawEscapes: boolean;
}

/** A lexing failure; `reason` uses BuildKit's wording. */
export class HeredocLexError extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

const EOF = -1;

class WordScanner {
  private pos = 0;
  constructor(
    private readonly text: string,
    private readonly options: HeredocLexOptions,
  ) {}

  peek(): number {
    return this.pos < this.text.length ? this.text.charCodeAt(this.pos) : EOF;
  }

  next(): number {
    return this.pos < this.text.length ? this.text.charCodeAt(this.pos++) : EOF;
  }

  /** Processes until `stop` (or the end); returns the text and the words. */
  processStopOn(stop: number, rawEscapes: boolean): { result: string; words: string[] } {
    const result: string[] = [];
    const words: string[] = [];
    let buf = "";
    let inWord = false;
    const addChar = (ch: string) => {
      if (isGoSpace(ch.charCodeAt(0))) {
        if (inWord && buf.length > 0) {
          words.push(buf);
          buf = "";
          inWord = false;
        }
      } else {
        buf += ch;
        inWord = true;
      }
    };
    while (this.peek() !== EOF) {
      const ch = this.peek();
      if (stop !== EOF && ch === stop) {
        this.next();
        if (buf.length > 0) words.push(buf);
        return { result: result.join(""), words };
      }
      if (ch === 0x24 /* $ */) {
        const value = this.processDollar();
        result.push(value);
        for (const c of value) addChar(c);
      } else if (ch === 0x3c /* < */) {
        const value = this.processPossibleHeredoc();
        result.push(value);
        buf += value;
        inWord = true;
      } else if (ch === 0x27 || ch === 0x22) {
        const value = ch === 0x27 ? this.processSingleQuote() : this.processDoubleQuote(rawEscapes);
        result.push(value);
        buf += value;
        inWord = true;
      } else {
        this.next();
        if (ch === 0x5c) {
          if (rawEscapes) {
            buf += "\\";
            inWord = true;
            result.push("\\");
          }
          const escaped = this.next();
          if (escaped === EOF) break;
          const c = String.fromCharCode(escaped);
          buf += c;
          inWord = true;
          result.push(c);
        } else {
          const c = String.fromCharCode(ch);
          addChar(c);
          result.push(c);
        }
      }
    }
    if (stop !== EOF) {
      throw new HeredocLexError(`unexpected end of statement while looking for matching ${String.fromCharCode(stop)}`);
    }
    if (buf.length > 0) words.push(buf);
    return { result: result.join(""), words };
  }

  private processSingleQuote(): string {
    const raw = this.options.rawQuotes;
    let out = raw ? "'" : "";
    this.next();
    for (;;) {
      const ch = this.next();
      if (ch === EOF) throw new HeredocLexError("unexpected end of statement while looking for matching single-quote");
      if (ch === 0x27) return raw ? `${out}'` : out;
      out += String.fromCharCode(ch);
    }
  }

  private processDoubleQuote(rawEscapes: boolean): string {
    const raw = this.options.rawQuotes;
    let out = raw ? '"' : "";
    this.next();
    for (;;) {
      const ch = this.peek();
      if (ch === EOF) throw new HeredocLexError("unexpected end of statement while looking for matching double-quote");
      if (ch === 0x22) {
        this.next();
        return raw ? `${out}"` : out;
      }
      if (ch === 0x24) {
        out += this.processDollar();
        continue;
      }
      let c = this.next();
      if (c === 0x5c) {
        if (rawEscapes) out += "\\";
        const after = this.peek();
        if (after === EOF) continue;
        if (after === 0x22 || after === 0x24 || after === 0x5c) c = this.next();
      }
      out += String.fromCharCode(c);
    }
  }

  private processName(): string {
    let name = "";
    for (;;) {
      const ch = this.peek();
      if (ch === EOF) break;
      const c = String.fromCharCode(ch);
      if (name.length === 0 && /\p{Nd}/u.test(c)) {
        while (this.peek() !== EOF && /\p{Nd}/u.test(String.fromCharCode(this.peek()))) name += String.fromCharCode(this.next());
        return name;
      }
      if (name.length === 0 && "@*#?-$!0".includes(c)) {
        this.next();
        return c;
      }
      if (!/[\p{L}\p{Nd}_]/u.test(c)) break;
      name += String.fromCharCode(this.next());
    }
    return name;
  }

  // With an empty environment and unset variables kept, every expansion comes back as
  // written (rebuilt from its parts), or fails the way BuildKit fails.
  private processDollar(): string {
    this.next();
    if (this.peek() !== 0x7b /* { */) {
      const name = this.processName();
      return `$${name}`;
    }
    this.next();
    const first = this.peek();
    if (first === EOF) throw new HeredocLexError("syntax error: missing '}'");
    if (first === 0x7b || first === 0x7d || first === 0x3a) throw new HeredocLexError("syntax error: bad substitution");
    const name = this.processName();
    let ch = this.next();
    let modifier = ch === EOF ? "" : String.fromCharCode(ch);
    let nullIsUnset = false;
    if (ch === 0x7d) return `\${${name}}`;
    if (ch === 0x3a || ch === 0x2b || ch === 0x2d || ch === 0x3f || ch === 0x23 || ch === 0x25) {
      if (ch === 0x3a) {
        // After `:` BuildKit takes any character as the modifier's second half.
        nullIsUnset = true;
        ch = this.next();
        modifier += ch === EOF ? "" : String.fromCharCode(ch);
      }
      const rawEscapes = ch === 0x23 || ch === 0x25;
      if (nullIsUnset && rawEscapes) throw new HeredocLexError(`unsupported modifier (${modifier}) in substitution`);
      const word = this.stopOn(0x7d, { rawEscapes, atEnd: "syntax error: missing '}'" });
      return `\${${name}${modifier}${word}}`;
    }
    if (ch === 0x2f) {
      if (this.peek() === 0x2f) this.next();
      const pattern = this.stopOn(0x2f, { rawEscapes: true, atEnd: "syntax error: missing '/' in ${}" });
      const replacement = this.stopOn(0x7d, { rawEscapes: true, atEnd: "syntax error: missing '}'" });
      return `\${${name}/${pattern}/${replacement}}`;
    }
    throw new HeredocLexError(`unsupported modifier (${modifier}) in substitution`);
  }

  private stopOn(stop: number, options: { rawEscapes: boolean; atEnd: string }): string {
    const { rawEscapes, atEnd } = options;
    try {
      return this.processStopOn(stop, rawEscapes).result;
    } catch (error) {
      if (this.peek() === EOF) throw new HeredocLexError(atEnd);
      throw error;
    }
  }

  private processPossibleHeredoc(): string {
    this.next();
    if (this.peek() !== 0x3c) return "<";
    this.next();
    let space = "";
    for (let ch = this.peek(); ch === 0x09 || ch === 0x0d || ch === 0x20; ch = this.peek()) {
      space += String.fromCharCode(ch);
      this.next();
    }
    return `<<${space}`;
  }
}

/** Splits `text` into words the way BuildKit's lexer does for heredoc detection. */
export function lexHeredocWords(text: string, options: HeredocLexOptions): string[] {
  const scanner = new WordScanner(text, options);
  try {
    return scanner.processStopOn(EOF, options.rawEscapes).words;
  } catch (error) {
    if (error instanceof HeredocLexError) throw new HeredocLexError(`failed to process ${JSON.stringify(text)}: ${error.reason}`);
    throw error;
  }
}
