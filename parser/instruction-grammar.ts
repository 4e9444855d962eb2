import type { IToken, TokenType } from "chevrotain";
import { TsbuildError } from "../errors.js";
import { chevrotain } from "./chevrotain-runtime.js";

/**
 * The Chevrotain lexer and grammar of one logical instruction line. The lexer cuts the
 * line into single-character separator, quote and escape tokens and maximal runs of other
 * text; the grammar then reads the keyword, BuildKit's leading `--flag` words and the
 * argument shapes (quote-aware words for ENV/LABEL/ARG, blank-separated lists for
 * FROM/EXPOSE). Everything is built once, on first use, so importing this is cheap.
 */

/** A piece of the lexed text: `[start, end)` are offsets into the lexed string. */
export interface GrammarWord {
  value: string;
  start: number;
  end: number;
}

/** The keyword, flags and where the arguments start, as BuildKit splits them. */
export interface LineShape {
  /** Offset just past the keyword. */
  keywordEnd: number;
  flags: GrammarWord[];
  /** Offset where the argument text starts (before trimming), or the line length. */
  restStart: number;
}

export interface InstructionGrammar {
  /** Lexes `text` (already trimmed, non-empty) and reads keyword and flags. */
  readLine(text: string, escape: string): { shape: LineShape; tokens: IToken[] };
  /** BuildKit's `parseWords` over `tokens[from..]`: quote-aware, quotes and escapes kept. */
  readWords(tokens: IToken[], from: number, escape: string): GrammarWord[];
  /** Splits `tokens[from..]` on runs of `[\t\v\f\r ]`, quotes not processed. */
  readBlankList(tokens: IToken[], from: number, text: string): GrammarWord[];
  /** Lexes any text into tokens (for helpers that start from a string). */
  tokenize(text: string): IToken[];
}

let grammar: InstructionGrammar | undefined;

const endOf = (token: IToken): number => token.startOffset + token.image.length;

/** The lazily built grammar singleton. */
export function instructionGrammar(): InstructionGrammar {
  grammar ??= buildGrammar();
  return grammar;
}

// Separators Go's unicode.IsSpace accepts beyond the ASCII blanks (\n only reaches the
// grammar through the single-instruction helper).
const WIDE_SPACE = "\\n\\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";

function buildGrammar(): InstructionGrammar {
  const { createToken, Lexer, EmbeddedActionsParser, tokenMatcher, EOF } = chevrotain;

  const AnyToken = createToken({ name: "AnyToken", pattern: Lexer.NA });
  const NotBlank = createToken({ name: "NotBlank", pattern: Lexer.NA, categories: [AnyToken] });
  const AnySpace = createToken({ name: "AnySpace", pattern: Lexer.NA, categories: [AnyToken] });
  const Quote = createToken({ name: "Quote", pattern: Lexer.NA, categories: [AnyToken, NotBlank] });
  const EscapeLike = createToken({ name: "EscapeLike", pattern: Lexer.NA, categories: [AnyToken, NotBlank] });
  const Blank = createToken({ name: "Blank", pattern: /[\t\v\f\r ]/, categories: [AnySpace, AnyToken] });
  const WideSpace = createToken({
    name: "WideSpace",
    pattern: new RegExp(`[${WIDE_SPACE}]`),
    categories: [AnySpace, NotBlank, AnyToken],
  });
  const DoubleQuote = createToken({ name: "DoubleQuote", pattern: /"/, categories: [Quote, NotBlank, AnyToken] });
  const SingleQuote = createToken({ name: "SingleQuote", pattern: /'/, categories: [Quote, NotBlank, AnyToken] });
  const Backslash = createToken({ name: "Backslash", pattern: /\\/, categories: [EscapeLike, NotBlank, AnyToken] });
  const Backtick = createToken({ name: "Backtick", pattern: /`/, categories: [EscapeLike, NotBlank, AnyToken] });
  const Text = createToken({
    name: "Text",
    pattern: new RegExp(`[^\\t\\v\\f\\r ${WIDE_SPACE}"'\\\\\`]+`),
    categories: [NotBlank, AnyToken],
  });
  const tokenTypes: TokenType[] = [
    AnyToken, NotBlank, AnySpace, Quote, EscapeLike,
    Blank, WideSpace, DoubleQuote, SingleQuote, Backslash, Backtick, Text,
  ];
  // The patterns are disjoint, so their order only matters for speed: Text and Blank make
  // up most tokens. (Text is a complement set, which rules out Chevrotain's first-char
  // optimisation; `safeMode` skips the analysis of every pattern that would find that out,
  // about 5 ms of every command's start.)
  const lexer = new Lexer([Text, Blank, Backslash, DoubleQuote, SingleQuote, WideSpace, Backtick], {
    positionTracking: "onlyOffset",
    ensureOptimizations: false,
    safeMode: true,
    skipValidations: true,
  });

  const isSpace = (token: IToken) => token.tokenType !== EOF && tokenMatcher(token, AnySpace);

  class LineParser extends EmbeddedActionsParser {
    escape = "\\";

    constructor() {
      super(tokenTypes, { maxLookahead: 1, recoveryEnabled: false, skipValidations: true });
      this.performSelfAnalysis();
    }

    /** The escape token plus the token after it, or a lone escape at the end. */
    private readonly escaped = this.RULE("escaped", (): { image: string; next: string | undefined } => {
      const escape = this.CONSUME(EscapeLike);
      let next: IToken | undefined;
      this.OPTION(() => {
        next = this.CONSUME(AnyToken);
      });
      return this.ACTION(() => ({ image: escape.image, next: next?.image }));
    });

    /** A quoted run inside a flag word: quotes removed, the escape escapes anything. */
    private readonly flagQuoted = this.RULE("flagQuoted", (): string => {
      const open = this.CONSUME(Quote);
      let value = "";
      this.MANY({
        GATE: () => this.LA(1).image !== open.image,
        DEF: () => {
          this.OR({
            IGNORE_AMBIGUITIES: true,
            DEF: [
              {
                GATE: () => this.LA(1).image === this.escape,
                ALT: () => {
                  const e = this.SUBRULE(this.escaped);
                  this.ACTION(() => {
                    if (e.next !== undefined) value += e.next;
                  });
                },
              },
              {
                ALT: () => {
                  const t = this.CONSUME(AnyToken);
                  this.ACTION(() => {
                    value += t.image;
                  });
                },
              },
            ],
          });
        },
      });
      this.OPTION(() => this.CONSUME2(Quote));
      return value;
    });

    /** One `--flag` word: quotes removed, escapes processed, up to unquoted whitespace. */
    private readonly flagWord = this.RULE("flagWord", (): GrammarWord => {
      const first = this.CONSUME(Text);
      let value = "";
      let end = 0;
      this.ACTION(() => {
        value = first.image;
        end = endOf(first);
      });
      this.MANY({
        GATE: () => !isSpace(this.LA(1)),
        DEF: () => {
          this.OR({
            IGNORE_AMBIGUITIES: true,
            DEF: [
              {
                GATE: () => this.LA(1).image === this.escape,
                ALT: () => {
                  const e = this.SUBRULE(this.escaped);
                  this.ACTION(() => {
                    if (e.next !== undefined) value += e.next;
                  });
                },
              },
              {
                ALT: () => {
                  const q = this.SUBRULE(this.flagQuoted);
                  this.ACTION(() => {
                    value += q;
                  });
                },
              },
              {
                ALT: () => {
                  const t = this.CONSUME(NotBlank);
                  this.ACTION(() => {
                    value += t.image;
                  });
                },
              },
            ],
          });
          this.ACTION(() => {
            end = endOf(this.LA(0));
          });
        },
      });
      return this.ACTION(() => ({ value, start: first.startOffset, end }));
    });

    /** Keyword, then flags, then the rest of the line (consumed, located by offset). */
    readonly instructionLine = this.RULE("instructionLine", (): LineShape => {
      let keywordEnd = 0;
      const flags: GrammarWord[] = [];
      let restStart = -1;
      let done = false;
      this.AT_LEAST_ONE(() => {
        const t = this.CONSUME(NotBlank);
        this.ACTION(() => {
          keywordEnd = endOf(t);
        });
      });
      this.OPTION(() => {
        this.AT_LEAST_ONE2(() => this.CONSUME(Blank));
        this.MANY({
          GATE: () => !done && (isSpace(this.LA(1)) || isFlagStart(this.LA(1))),
          DEF: () => {
            this.OR([
              { ALT: () => this.CONSUME(AnySpace) },
              {
                ALT: () => {
                  const word = this.SUBRULE(this.flagWord);
                  this.ACTION(() => {
                    // A bare `--` ends the flags and is dropped.
                    if (word.value === "--") {
                      done = true;
                      restStart = word.end;
                    } else {
                      flags.push(word);
                    }
                  });
                },
              },
            ]);
          },
        });
        this.ACTION(() => {
          if (!done) restStart = this.LA(1).tokenType === EOF ? -1 : this.LA(1).startOffset;
        });
        this.MANY2(() => this.CONSUME2(AnyToken));
      });
      return { keywordEnd, flags, restStart };
    });

    /** A double- or single-quoted run inside a word, kept raw (quotes and escapes). */
    private readonly rawQuoted = this.RULE("rawQuoted", (): string => {
      const open = this.CONSUME(Quote);
      let value = "";
      this.ACTION(() => {
        value = open.image;
      });
      let closed = false;
      this.MANY({
        GATE: () => !closed,
        DEF: () => {
          this.OR({
            IGNORE_AMBIGUITIES: true,
            DEF: [
              {
                // Inside single quotes the escape token is an ordinary character.
                GATE: () => open.image !== "'" && this.LA(1).image === this.escape,
                ALT: () => {
                  const e = this.SUBRULE(this.escaped);
                  this.ACTION(() => {
                    if (e.next !== undefined) value += e.image + e.next;
                  });
                },
              },
              {
                ALT: () => {
                  const t = this.CONSUME(AnyToken);
                  this.ACTION(() => {
                    value += t.image;
                    if (t.image === open.image) closed = true;
                  });
                },
              },
            ],
          });
        },
      });
      return value;
    });

    /** One quote-aware word of `parseWords`. */
    private readonly rawWord = this.RULE("rawWord", (): GrammarWord => {
      let value = "";
      let start = -1;
      let end = 0;
      this.AT_LEAST_ONE({
        GATE: () => !isSpace(this.LA(1)),
        DEF: () => {
          this.ACTION(() => {
            if (start < 0) start = this.LA(1).startOffset;
          });
          this.OR({
            IGNORE_AMBIGUITIES: true,
            DEF: [
              {
                GATE: () => this.LA(1).image === this.escape,
                ALT: () => {
                  const e = this.SUBRULE(this.escaped);
                  // Outside quotes the escape and the character after it are both kept;
                  // a lone escape at the very end is dropped.
                  this.ACTION(() => {
                    if (e.next !== undefined) value += e.image + e.next;
                  });
                },
              },
              {
                ALT: () => {
                  const q = this.SUBRULE(this.rawQuoted);
                  this.ACTION(() => {
                    value += q;
                  });
                },
              },
              {
                ALT: () => {
                  const t = this.CONSUME(NotBlank);
                  this.ACTION(() => {
                    value += t.image;
                  });
                },
              },
            ],
          });
          this.ACTION(() => {
            end = endOf(this.LA(0));
          });
        },
      });
      return this.ACTION(() => ({ value, start, end }));
    });

    readonly words = this.RULE("words", (): GrammarWord[] => {
      const words: GrammarWord[] = [];
      this.MANY(() => {
        this.OR([
          { ALT: () => this.CONSUME(AnySpace) },
          {
            ALT: () => {
              const word = this.SUBRULE(this.rawWord);
              this.ACTION(() => {
                if (word.value.length > 0) words.push(word);
              });
            },
          },
        ]);
      });
      return words;
    });

    readonly blankList = this.RULE("blankList", (): Array<[number, number]> => {
      const spans: Array<[number, number]> = [];
      this.MANY(() => {
        this.OR([
          { ALT: () => this.CONSUME(Blank) },
          {
            ALT: () => {
              let start = -1;
              let end = 0;
              this.AT_LEAST_ONE(() => {
                const t = this.CONSUME(NotBlank);
                this.ACTION(() => {
                  if (start < 0) start = t.startOffset;
                  end = endOf(t);
                });
              });
              this.ACTION(() => spans.push([start, end]));
            },
          },
        ]);
      });
      return spans;
    });
  }

  const isFlagStart = (token: IToken) => token.tokenType === Text && token.image.startsWith("--");
  const parser = new LineParser();

  const run = <T>(tokens: IToken[], escape: string, rule: () => T): T => {
    parser.escape = escape;
    parser.input = tokens;
    const result = rule();
    if (parser.errors.length > 0) {
      // Every token sequence is valid for these rules; an error here is a bug.
      throw new TsbuildError("INTERNAL", `Cannot parse the instruction line: ${parser.errors[0].message}`);
    }
    return result;
  };

  return {
    tokenize: (text) => lexer.tokenize(text).tokens,
    readLine(text, escape) {
      const tokens = lexer.tokenize(text).tokens;
      const shape = run(tokens, escape, () => parser.instructionLine());
      if (shape.restStart < 0) shape.restStart = text.length;
      return { shape, tokens };
    },
    readWords(tokens, from, escape) {
      return run(from === 0 ? tokens : tokens.slice(from), escape, () => parser.words());
    },
    readBlankList(tokens, from, text) {
      const spans = run(from === 0 ? tokens : tokens.slice(from), "\\", () => parser.blankList());
      return spans.map(([start, end]) => ({ value: text.slice(start, end), start, end }));
    },
  };
}
