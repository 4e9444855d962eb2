import { TsbuildError } from "../errors.js";

export interface ExecErrorOptions {
  exitCode: number;
  /** The last lines of the process's output. */
  logTail: string;
  hint?: string;
  cause?: unknown;
}

/** A process in a sandbox that exited non-zero (or was killed by a signal: 128 + signal). */
export class ExecError extends TsbuildError {
  readonly exitCode: number;
  readonly logTail: string;

  constructor(message: string, options: ExecErrorOptions) {
    super("EXEC_FAILED", message, { hint: options.hint, cause: options.cause });
    this.name = "ExecError";
    this.exitCode = options.exitCode;
    this.logTail = options.logTail;
  }
}
