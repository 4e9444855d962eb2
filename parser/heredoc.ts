import { HeredocLexError, lexHeredocWords } from "./heredoc-words.js";

/** A heredoc opener found on an instruction line (the body is read later). */
export interface HeredocOpener {
  name: string;
  expand: boolean;
  chomp: boolean;
  fileDescriptor: number;
}

/** A heredoc word that cannot be read (an unterminated quote in it, say). */
export class HeredocWordError extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

// Go's regexp: `\d` and `\s` are ASCII only.
const HEREDOC_WORD = /^([0-9]*)<<(-?)[\t\n\f\r ]*([^<]*)$/;
const MAX_UINT64 = 18446744073709551615n;

/**
 * BuildKit's `ParseHeredoc`: is `word` a heredoc opener (`<<EOF`, `<<-EOF`, `3<<EOF`,
 * `<<'EOF'`, `<< EOF`), and with what terminator. Returns undefined when it is not one;
 * throws HeredocWordError for an opener with an unterminated quote.
 */
export function parseHeredocWord(word: string): HeredocOpener | undefined {
  const match = HEREDOC_WORD.exec(word);
  if (!match) return undefined;
  const [, digits, dash, rest] = match;
  if (rest.length === 0) return undefined;
  let words: string[];
  let rawWords: string[];
  try {
    words = lexHeredocWords(rest, { rawQuotes: false, rawEscapes: false });
    if (words.length !== 1) return undefined;
    rawWords = lexHeredocWords(rest, { rawQuotes: true, rawEscapes: false });
  } catch (error) {
    if (error instanceof HeredocLexError) throw new HeredocWordError(error.reason);
    throw error;
  }
  if (rawWords.length !== words.length) {
    throw new HeredocWordError(`internal lexing of heredoc produced inconsistent results: ${rest}`);
  }
  // Quotes anywhere in the word (`<<'EOF'`, `<<E"O"F`) turn expansion off.
  const expand = countQuotes(words[0]) === countQuotes(rawWords[0]);
  let fileDescriptor = 0;
  if (digits.length > 0) {
    const fd = BigInt(digits);
    fileDescriptor = fd <= MAX_UINT64 ? Number(fd) : 0;
  }
  return { name: words[0], expand, chomp: dash === "-", fileDescriptor };
}

function countQuotes(text: string): number {
  let count = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x27 || c === 0x22) count++;
  }
  return count;
}

/**
 * BuildKit's `heredocsFromLine`: the heredoc openers on a joined instruction line, in
 * order. Quoted `'<<EOF'` is not one; `<<- EOF` (dash then space) is not one either.
 */
export function heredocsFromLine(line: string): HeredocOpener[] {
  let words: string[];
  try {
    words = lexHeredocWords(line, { rawQuotes: true, rawEscapes: true });
  } catch (error) {
    // BuildKit ignores a lexing failure of the whole line: no heredocs.
    if (error instanceof HeredocLexError) return [];
    throw error;
  }
  const openers: HeredocOpener[] = [];
  for (const word of words) {
    const opener = parseHeredocWord(word);
    if (opener) openers.push(opener);
  }
  return openers;
}

/** Removes the leading tabs of every line, as `<<-` asks; the AST keeps bodies unchomped. */
export function chompHeredocContent(content: string): string {
  // Only "\n" starts a line here, as in Go's multi-line mode (JavaScript's /m also breaks at \r).
  return content.replace(/(^|\n)\t+/g, "$1");
}
