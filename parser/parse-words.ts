import { instructionGrammar } from "./instruction-grammar.js";

/**
 * BuildKit's `parseWords`, used for ENV, LABEL and ARG: splits on Unicode whitespace
 * outside quotes and keeps quotes and escapes in the words (`a\ b` stays one word).
 */
export function parseWords(text: string, escapeToken: "\\" | "`" = "\\"): string[] {
  const grammar = instructionGrammar();
  return grammar.readWords(grammar.tokenize(text), 0, escapeToken).map((word) => word.value);
}
