import { TsbuildError } from "../errors.js";
import type { SyntaxErrorLocation } from "./syntax-error.js";

/**
 * An error that a Dockerfile instruction met (a FROM image that cannot be pulled, say):
 * the same code, hint and cause, with the instruction's `file:line` in front and its
 * location kept for the CLI's code frame, as buildx shows the line a failure came from.
 */
export class LocatedError extends TsbuildError {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly endLine: number;

  constructor(error: TsbuildError, location: SyntaxErrorLocation) {
    super(error.code, `${location.file}:${location.line}: ${error.message}`, { ...(error.hint === undefined ? {} : { hint: error.hint }), cause: error });
    this.name = "LocatedError";
    this.file = location.file;
    this.line = location.line;
    this.column = location.column;
    this.endLine = location.endLine ?? location.line;
  }
}
