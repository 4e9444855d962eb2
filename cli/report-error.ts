import { isTsbuildError } from "../errors.js";
import { LocatedError } from "../parser/located-error.js";
import { fromSystemError } from "../util/system-error.js";
import { DockerfileSyntaxError } from "../parser/syntax-error.js";
import { codeFrame } from "./code-frame.js";

/**
 * Prints an error for a person: the message, a code frame for Dockerfile errors when the
 * source is known, and the hint. Returns the exit status for it. Unexpected errors (bugs)
 * print their stack, since that is what a bug report needs.
 */
export function reportError(thrown: unknown, options: { write: (text: string) => void; sources: ReadonlyMap<string, string>; debug?: boolean }): number {
  const { write } = options;
  // A full disk, a read-only root or a refused permission is the user's to fix, not a bug.
  const error = fromSystemError(thrown) ?? thrown;
  if (error instanceof DockerfileSyntaxError || error instanceof LocatedError) {
    write(`error: ${error.message}\n`);
    const source = options.sources.get(error.file);
    if (source !== undefined) write(`${codeFrame(source, error)}\n`);
    if (error.hint) write(`hint: ${error.hint}\n`);
    return error.exitStatus;
  }
  if (isTsbuildError(error)) {
    write(`error: ${error.message}\n`);
    if (error.hint) write(`hint: ${error.hint}\n`);
    if (options.debug) write(debugDetail(error));
    return error.exitStatus;
  }
  const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
  write(`internal error: ${text}\n`);
  return 1;
}

/** --debug: the error's code and stack, then each cause's, for a bug report. */
function debugDetail(error: Error & { code?: string }): string {
  const lines: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && depth < 10; depth++) {
    const label = depth === 0 ? "debug:" : "caused by:";
    if (current instanceof Error) {
      const code = (current as { code?: unknown }).code;
      lines.push(`${label} ${code === undefined ? "" : `[${String(code)}] `}${current.stack ?? current.message}`);
      current = current.cause;
    } else {
      lines.push(`${label} ${String(current)}`);
      current = undefined;
    }
  }
  return `${lines.join("\n")}\n`;
}
