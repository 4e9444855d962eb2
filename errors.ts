/**
 * The one error catalog of tsbuild. Every error that crosses a module boundary is a
 * `TsbuildError` with a stable `code`; the CLI maps codes to exit statuses and prints
 * the hint. Subclasses exist only where callers catch them.
 */

/**
 * Stable error codes. Add new ones here, with the exit status the CLI uses for them:
 * docker's, so scripts written for docker read tsbuild the same (1 for any failure, 125 for
 * a command line docker would refuse; `run` exits 125 for any failure of its own, see
 * cli/command.ts). README.md lists every status.
 */
export const ERROR_CODES = {
  /** A Dockerfile that does not parse, an instruction with bad arguments, or a word that does not expand. */
  DOCKERFILE_SYNTAX: 1,
  /** A command-line usage error: unknown command or flag, missing argument. */
  USAGE: 125,
  /** An input file that cannot be read. */
  FILE_NOT_FOUND: 1,
  /** An image reference that does not follow docker's grammar. */
  INVALID_REFERENCE: 1,
  /** An image, container, snapshot or blob that is not in the store. */
  NOT_FOUND: 1,
  /** Content that does not match its digest or size. */
  DIGEST_MISMATCH: 1,
  /** A layer archive or image archive that is malformed or unsafe to apply. */
  INVALID_ARCHIVE: 1,
  /** Something already exists (a tag with -f missing, a container name in use). */
  CONFLICT: 1,
  /** A store or snapshot that is in use by another record. */
  IN_USE: 1,
  /** A RUN step (or container process) that exited non-zero. */
  EXEC_FAILED: 1,
  /** A system part (runc, crun, overlayfs, skopeo ...) that is missing or refuses to work. */
  SYSTEM: 1,
  /** The file system is full (ENOSPC, EDQUOT). */
  DISK_FULL: 1,
  /** A write to a read-only file system (EROFS), such as a store root mounted read-only. */
  READ_ONLY: 1,
  /** The file system refused access (EACCES, EPERM). */
  PERMISSION_DENIED: 1,
  /** An operation cancelled by an AbortSignal or Ctrl-C. */
  CANCELLED: 130,
  /** A registry answered with an error. */
  REGISTRY: 1,
  /** A configuration file (registries.conf) that does not parse or says something impossible. */
  INVALID_CONFIG: 1,
  /** Rootless use that the host is not set up for: no user namespace, or an owner it does not map (/etc/subuid, /etc/subgid). */
  ROOTLESS: 1,
  /** A bug: an invariant that should hold did not. */
  INTERNAL: 1,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface TsbuildErrorOptions {
  /** One line that tells the user what to do about it. */
  hint?: string;
  cause?: unknown;
}

export class TsbuildError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, options: TsbuildErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "TsbuildError";
    this.code = code;
    this.hint = options.hint;
  }

  /** The exit status the CLI uses for this error. */
  get exitStatus(): number {
    return ERROR_CODES[this.code];
  }
}

/** True for any tsbuild error, optionally of one code. */
export function isTsbuildError(value: unknown, code?: ErrorCode): value is TsbuildError {
  return value instanceof TsbuildError && (code === undefined || value.code === code);
}
