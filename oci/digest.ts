import { createHash, type Hash } from "node:crypto";
import { TsbuildError } from "../errors.js";

/** A content digest, always `sha256:` followed by 64 lowercase hex digits. */
export type Digest = `sha256:${string}`;

const DIGEST_PATTERN = /^sha256:[0-9a-f]{64}$/;
// The OCI grammar: algorithm components joined by [+._-], then ":" and an encoded part.
const ANY_DIGEST_PATTERN = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

/** True when `value` is a sha256 digest in canonical form. */
export function isDigest(value: unknown): value is Digest {
  return typeof value === "string" && DIGEST_PATTERN.test(value);
}

/**
 * Checks `value` and returns it as a Digest; anything else (another algorithm, uppercase or
 * short hex) is an INVALID_REFERENCE error, since sha256 is the one algorithm tsbuild stores.
 */
export function parseDigest(value: string): Digest {
  if (isDigest(value)) return value;
  if (ANY_DIGEST_PATTERN.test(value) && !value.startsWith("sha256:")) {
    throw new TsbuildError("INVALID_REFERENCE", `Invalid digest "${value}": algorithm "${value.split(":")[0]}" is not supported`, {
      hint: "Use a sha256 digest",
    });
  }
  throw new TsbuildError("INVALID_REFERENCE", `Invalid digest "${value}": expected "sha256:" and 64 lowercase hex digits`);
}

/** The sha256 digest of some bytes or text (text is hashed as UTF-8). */
export function digestOf(data: string | Uint8Array): Digest {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

/** The 64 hex digits of a digest (the blob's file name in an OCI layout). */
export function digestHex(digest: Digest): string {
  return digest.slice("sha256:".length);
}

/** The short id docker shows: the first 12 hex digits. */
export function shortDigest(digest: Digest): string {
  return digestHex(digest).slice(0, 12);
}

/** An incremental sha256 digester that also counts bytes, for streamed content. */
export class Digester {
  readonly #hash: Hash = createHash("sha256");
  #size = 0;

  update(chunk: Uint8Array): void {
    this.#hash.update(chunk);
    this.#size += chunk.byteLength;
  }

  get size(): number {
    return this.#size;
  }

  /** The digest of everything seen; call once. */
  digest(): Digest {
    return `sha256:${this.#hash.digest("hex")}`;
  }
}
