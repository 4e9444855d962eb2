import { TsbuildError } from "../errors.js";

/** Where a syntax error is, for the message and the CLI's code frame. */
export interface SyntaxErrorLocation {
  file: string;
  /** 1-based. */
  line: number;
  /** 1-based, in UTF-16 code units. */
  column: number;
  /** 1-based last line of the offending text, when it spans several lines. */
  endLine?: number;
}

/**
 * The only error the parser and the shell-word expander throw for bad input.
 * `reason` is one line without the location; `message` adds `file:line:column`.
 */
export class DockerfileSyntaxError extends TsbuildError {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly endLine: number;
  readonly reason: string;

  constructor(reason: string, location: SyntaxErrorLocation, options: { hint?: string; cause?: unknown } = {}) {
    super("DOCKERFILE_SYNTAX", `${location.file}:${location.line}:${location.column}: ${reason}`, options);
    this.name = "DockerfileSyntaxError";
    this.file = location.file;
    this.line = location.line;
    this.column = location.column;
    this.endLine = location.endLine ?? location.line;
    this.reason = reason;
  }
}
