/** One checked conformance case: which file and record, and what differed when it failed. */
export interface CaseResult {
  /** `set/case`, e.g. `buildkit/parser/testfiles/env` or `generated/lexer-edge-cases#lex-4`. */
  id: string;
  ok: boolean;
  /** For a failure: expected against actual, short. */
  detail?: string;
}

/** A conformance suite reads its data from a directory and checks every case it finds. */
export type ConformanceSuite = (dir: string) => Promise<CaseResult[]>;
