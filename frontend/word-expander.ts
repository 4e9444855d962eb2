import { expandWord, expandWords } from "../parser/shell-lexer.js";
import type { EnvList } from "./env-list.js";

/** The lexer modes BuildKit switches between for different purposes. */
export interface ExpandModes {
  /** Keep quotes in the result (step names). */
  rawQuotes?: boolean;
  /** Leave `$UNSET` as written instead of making it empty (step names). */
  skipUnsetEnv?: boolean;
  /** Keep quotes but still expand variables and escapes (COPY heredoc bodies). */
  skipProcessQuotes?: boolean;
}

/** The result of one expansion with the names it used. */
export interface ExpandResult {
  value: string;
  /** Variables the word referred to that were set. */
  matched: Set<string>;
  /** Variables the word referred to that were not set. */
  unmatched: Set<string>;
}

/**
 * BuildKit's word expansion bound to one Dockerfile's escape token. A thin seam over the
 * shell lexer, so the rest of the frontend speaks in EnvLists and one result shape.
 */
export class WordExpander {
  readonly escapeToken: "\\" | "`";

  constructor(escapeToken: "\\" | "`") {
    this.escapeToken = escapeToken;
  }

  /** One word to one string (ProcessWord / ProcessWordWithMatches). */
  word(word: string, env: EnvList, modes: ExpandModes = {}): ExpandResult {
    const result = expandWord(word, env.toRecord(), { escapeToken: this.escapeToken, ...modes });
    return { value: result.value, matched: new Set(result.matched), unmatched: new Set(result.unmatched) };
  }

  /** One word to several, split on unquoted whitespace (ProcessWords). */
  words(word: string, env: EnvList, modes: ExpandModes = {}): string[] {
    return expandWords(word, env.toRecord(), { escapeToken: this.escapeToken, ...modes });
  }

  /** With a different escape token: COPY heredoc bodies always use `\`. */
  withEscapeToken(escapeToken: "\\" | "`"): WordExpander {
    return new WordExpander(escapeToken);
  }
}
