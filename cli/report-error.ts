import { isTsbuildError } from "../errors.js";
import { fromSystemError } from "../util/system-error.js";
import { DockerfileSyntaxError } from "../parser/syntax-error.js";
import { codeFrame } from "./code-frame.js";

/**
 * Prints an error for a person: the message, a code frame for Dockerfile errors when the
 * source is known, and the hint. Returns the exit status for it. Unexpected errors (bugs)
 * print their stack, since that is what a bug report needs.
 */
export function reportError(thrown: unknown, options: { write: (text: string) => void; sources: ReadonlyMap<string, string> }): number {
  const { write } = options;
  // A full disk, a read-only root or a refused permission is the user's to fix, not a bug.
  const error = fromSystemError(thrown) ?? thrown;
  if (error instanceof DockerfileSyntaxError) {
    write(`error: ${error.message}\n`);
    const source = options.sources.get(error.file);
    if (source !== undefined) write(`${codeFrame(source, error)}\n`);
    if (error.hint) write(`hint: ${error.hint}\n`);
    return error.exitStatus;
  }
  if (isTsbuildError(error)) {
    write(`error: ${error.message}\n`);
    if (error.hint) write(`hint: ${error.hint}\n`);
    return error.exitStatus;
  }
  const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
  write(`internal error: ${text}\n`);
  return 70;
}
