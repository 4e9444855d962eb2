import { TsbuildError, type ErrorCode, type TsbuildErrorOptions } from "../errors.js";

/**
 * A registry that answered with an error (or could not be reached). Carries the HTTP status
 * and the URL with credentials and query strings removed, so it is safe to print or log.
 */
export class RegistryError extends TsbuildError {
  /** The HTTP status, or 0 when no answer came. */
  readonly status: number;
  /** The request URL without user info or query (upload state, signed-URL signatures). */
  readonly url: string;

  constructor(message: string, options: TsbuildErrorOptions & { status: number; url: string; code?: ErrorCode }) {
    super(options.code ?? "REGISTRY", message, options);
    this.name = "RegistryError";
    this.status = options.status;
    this.url = redactUrl(options.url);
  }
}

/** A URL fit for messages: no user name or password, no query (it may hold signatures or tokens). */
export function redactUrl(url: string | URL): string {
  try {
    const parsed = new URL(String(url));
    parsed.username = "";
    parsed.password = "";
    parsed.search = "";
    parsed.hash = "";
    return parsed.href;
  } catch {
    return "<invalid URL>";
  }
}
