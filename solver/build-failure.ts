import { isTsbuildError, TsbuildError, type ErrorCode } from "../errors.js";
import { ExecError } from "../executor/exec-error.js";
import type { VertexLocation } from "../frontend/graph.js";

/** The step a build failed at. */
export interface FailedStep {
  vertex: string;
  name: string;
  location: VertexLocation | undefined;
}

/**
 * A build that failed at a step: the step's name and Dockerfile location, and for a RUN the
 * exit status and the tail of its log. Its code is the cause's (EXEC_FAILED for a RUN that
 * exited non-zero, CANCELLED for an abort), so the CLI exits as it would for the cause.
 */
export class BuildFailure extends TsbuildError {
  readonly step: FailedStep;
  readonly exitCode: number | undefined;
  readonly logTail: string | undefined;

  constructor(step: FailedStep, cause: unknown) {
    const code: ErrorCode = isTsbuildError(cause) ? cause.code : "INTERNAL";
    const reason = cause instanceof Error ? cause.message : String(cause);
    const at = step.location === undefined ? "" : ` (${step.location.file}:${step.location.range.start.line})`;
    super(code, `Step ${step.name}${at} failed: ${reason}`, { cause, hint: isTsbuildError(cause) ? cause.hint : undefined });
    this.name = "BuildFailure";
    this.step = step;
    this.exitCode = cause instanceof ExecError ? cause.exitCode : undefined;
    this.logTail = cause instanceof ExecError ? cause.logTail : undefined;
  }
}
