import { isTsbuildError, TsbuildError, type ErrorCode } from "../errors.js";
import { inUserNamespace } from "./id-mapping.js";

/**
 * errno values as coded errors. A file system that is full, read-only or refuses access is
 * the user's to fix, not a bug: it gets a code, a sentence and a hint instead of an
 * "internal error" with a stack. Errors without an errno (bugs) are left alone.
 */

interface ErrnoMeaning {
  code: ErrorCode;
  reason: string;
  hint?: string;
}

const MEANINGS: Readonly<Record<string, ErrnoMeaning>> = {
  ENOSPC: {
    code: "DISK_FULL",
    reason: "no space left on device",
    hint: "Free space on that file system (tsbuild prune -a) or use a root on another one (--root)",
  },
  EDQUOT: { code: "DISK_FULL", reason: "disk quota exceeded", hint: "Free space within your quota, or use a root on another file system (--root)" },
  EROFS: { code: "READ_ONLY", reason: "read-only file system", hint: "Commands that only read work on a read-only root; remount it read-write to change it" },
  EACCES: { code: "PERMISSION_DENIED", reason: "permission denied", hint: "Run as a user that may write there, or use another --root (each user has a root of their own)" },
  EPERM: { code: "PERMISSION_DENIED", reason: "operation not permitted", hint: "Run as root, or use another --root" },
  ENOENT: { code: "FILE_NOT_FOUND", reason: "no such file or directory" },
  ENOTDIR: { code: "FILE_NOT_FOUND", reason: "a component of the path is not a directory" },
  EISDIR: { code: "USAGE", reason: "is a directory" },
  EEXIST: { code: "CONFLICT", reason: "file exists" },
  ELOOP: { code: "SYSTEM", reason: "too many levels of symbolic links" },
  ENAMETOOLONG: { code: "USAGE", reason: "file name too long" },
  EMFILE: { code: "SYSTEM", reason: "too many open files", hint: "Raise the open-file limit (ulimit -n)" },
  ENFILE: { code: "SYSTEM", reason: "too many open files in the system" },
  ENOMEM: { code: "SYSTEM", reason: "out of memory" },
  EIO: { code: "SYSTEM", reason: "input/output error", hint: "The disk may be failing: check the kernel log (dmesg)" },
  EBUSY: { code: "IN_USE", reason: "device or resource busy" },
  EXDEV: { code: "SYSTEM", reason: "cross-device link" },
};

/** The errno name (`ENOSPC`) of a Node.js system error, or undefined. */
export function errnoOf(error: unknown): string | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" && /^E[A-Z0-9]+$/.test(code) ? code : undefined;
}

/**
 * The coded error for a system error with a known errno, or undefined. `what` starts the
 * message (`Cannot write "x"`); without it the message names the system call and path.
 * A TsbuildError caused by a known errno (a SYSTEM error wrapped elsewhere) is also
 * translated, so a full disk reads as a full disk however deep it happened.
 */
export function fromSystemError(error: unknown, what?: string): TsbuildError | undefined {
  const unmapped = unmappedOwner(error, what);
  if (unmapped !== undefined) return unmapped;
  if (isTsbuildError(error)) {
    if (error.code !== "SYSTEM" && error.code !== "INTERNAL") return undefined;
    const inner = causeWithErrno(error);
    const meaning = inner === undefined ? undefined : MEANINGS[errnoOf(inner)!];
    if (meaning === undefined || !(meaning.code === "DISK_FULL" || meaning.code === "READ_ONLY")) return undefined;
    return new TsbuildError(meaning.code, `${error.message.replace(/: E[A-Z]+: .*$/, "")}: ${meaning.reason}`, {
      cause: error,
      ...(meaning.hint === undefined ? {} : { hint: meaning.hint }),
    });
  }
  const errno = errnoOf(error);
  const meaning = errno === undefined ? undefined : MEANINGS[errno];
  if (meaning === undefined || errno === undefined) return undefined;
  const detail = error as NodeJS.ErrnoException;
  const subject = what ?? (detail.path === undefined ? `Cannot ${detail.syscall ?? "do that"}` : `Cannot ${detail.syscall ?? "use"} "${detail.path}"`);
  return new TsbuildError(meaning.code, `${subject}: ${meaning.reason} (${errno})`, {
    cause: error,
    ...(meaning.hint === undefined ? {} : { hint: meaning.hint }),
  });
}

/**
 * chown(2) fails with EINVAL only for an id the user namespace does not map: a rootless
 * tsbuild without subordinate ids (one id, root) meets a file of another owner.
 */
function unmappedOwner(error: unknown, what: string | undefined): TsbuildError | undefined {
  if (isTsbuildError(error, "ROOTLESS") || !inUserNamespace()) return undefined;
  const inner = causeWithErrno(error) as NodeJS.ErrnoException | undefined;
  if (inner === undefined || inner.code !== "EINVAL" || !/chown$/.test(inner.syscall ?? "")) return undefined;
  const subject = isTsbuildError(error)
    ? error.message.replace(/: E[A-Z]+: .*$/, "")
    : (what ?? `Cannot ${inner.syscall} "${inner.path ?? "?"}"`);
  const file = inner.path === undefined ? "" : ` of "${inner.path}"`;
  return new TsbuildError("ROOTLESS", `${subject}: the owner${file} is not mapped rootless: this user has no ranges in /etc/subuid and /etc/subgid`, {
    cause: error,
    hint: "Add ranges for the user to both files (README: Rootless); the next command maps them",
  });
}

/** `fromSystemError`, falling back to a SYSTEM error for unknown errnos; TsbuildErrors pass through. */
export function systemError(error: unknown, what: string): TsbuildError {
  if (isTsbuildError(error)) return fromSystemError(error) ?? error;
  const known = fromSystemError(error, what);
  if (known !== undefined) return known;
  const detail = error instanceof Error ? error.message : String(error);
  return new TsbuildError("SYSTEM", `${what}: ${detail}`, { cause: error });
}

/** The nearest error in a `cause` chain that carries an errno. */
function causeWithErrno(error: unknown): unknown {
  for (let current = error, depth = 0; current !== undefined && current !== null && depth < 8; depth++) {
    if (errnoOf(current) !== undefined) return current;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}
