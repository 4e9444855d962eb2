import { TsbuildError } from "../errors.js";
import { isDigest, type Digest } from "./digest.js";

/**
 * An image reference, normalised the way docker does it: `busybox` is
 * `docker.io/library/busybox`, `user/img:1.0` is `docker.io/user/img:1.0`.
 */
export interface ImageReference {
  /** The registry host, with its port: `docker.io`, `localhost:5000`, `[::1]:5000`. */
  domain: string;
  /** The repository path inside the registry: `library/busybox`, `user/img`. */
  path: string;
  tag?: string;
  digest?: Digest;
}

export const DEFAULT_DOMAIN = "docker.io";
export const DEFAULT_TAG = "latest";
const LEGACY_DEFAULT_DOMAIN = "index.docker.io";
const OFFICIAL_PREFIX = "library/";
const MAX_NAME_LENGTH = 255;

// The grammar of github.com/distribution/reference, written out piece by piece.
const TAG_PATTERN = /^[\w][\w.-]{0,127}$/;
const PATH_COMPONENT_PATTERN = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN_COMPONENT = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const DOMAIN_PATTERN = new RegExp(
  `^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?$`,
);
const IMAGE_ID_PATTERN = /^[a-f0-9]{64}$/;
const DIGEST_LIKE_PATTERN = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/;

/**
 * Parses a reference as users type it (`busybox`, `user/img:1.0`, `localhost:5000/x`,
 * `name@sha256:...`, `name:tag@sha256:...`) into its normalised parts. No default tag is
 * added; see `withDefaultTag`.
 */
export function parseReference(text: string): ImageReference {
  const fail = (why: string): never => {
    throw new TsbuildError("INVALID_REFERENCE", `Invalid reference "${text}": ${why}`);
  };
  if (text === "") fail("reference is empty");
  if (IMAGE_ID_PATTERN.test(text)) fail("a 64-character hexadecimal string is an image id, not a repository name");

  let rest = text;
  let digest: Digest | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    const digestText = rest.slice(at + 1);
    if (!isDigest(digestText)) {
      if (DIGEST_LIKE_PATTERN.test(digestText) && !digestText.startsWith("sha256:")) {
        fail(`digest algorithm "${digestText.split(":")[0]}" is not supported`);
      }
      fail(`digest "${digestText}" is not "sha256:" followed by 64 lowercase hex digits`);
    }
    digest = digestText as Digest;
    rest = rest.slice(0, at);
  }

  let tag: string | undefined;
  const colon = rest.lastIndexOf(":");
  if (colon > rest.lastIndexOf("/")) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG_PATTERN.test(tag)) {
      fail(tag === "" ? "tag is empty" : `tag "${tag}" must match [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`);
    }
  }
  if (rest === "") fail("repository name is empty");

  let domain = DEFAULT_DOMAIN;
  let path = rest;
  const slash = rest.indexOf("/");
  if (slash >= 0 && looksLikeDomain(rest.slice(0, slash))) {
    domain = rest.slice(0, slash);
    path = rest.slice(slash + 1);
  }
  if (domain === LEGACY_DEFAULT_DOMAIN) domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && path !== "" && !path.includes("/")) path = OFFICIAL_PREFIX + path;

  if (!DOMAIN_PATTERN.test(domain)) fail(`registry "${domain}" is not a valid host name with an optional port`);
  if (path.toLowerCase() !== path) fail("repository name must be lowercase");
  for (const component of path.split("/")) {
    if (component === "") fail("repository name has an empty path component");
    if (!PATH_COMPONENT_PATTERN.test(component)) {
      fail(`path component "${component}" must be lowercase letters and digits, separated by ".", "_", "__" or dashes`);
    }
  }
  if (domain.length + 1 + path.length > MAX_NAME_LENGTH) {
    fail(`repository name must not be longer than ${MAX_NAME_LENGTH} characters`);
  }

  const reference: ImageReference = { domain, path };
  if (tag !== undefined) reference.tag = tag;
  if (digest !== undefined) reference.digest = digest;
  return reference;
}

/** The reference with the `latest` tag added when it has neither tag nor digest. */
export function withDefaultTag(reference: ImageReference): ImageReference {
  if (reference.tag !== undefined || reference.digest !== undefined) return reference;
  return { ...reference, tag: DEFAULT_TAG };
}

/** True for a valid tag. */
export function isValidTag(tag: string): boolean {
  return TAG_PATTERN.test(tag);
}

/** The full repository name: `docker.io/library/busybox`. */
export function repositoryName(reference: ImageReference): string {
  return `${reference.domain}/${reference.path}`;
}

/** The full reference: `docker.io/library/busybox:latest@sha256:...`. */
export function formatReference(reference: ImageReference): string {
  return repositoryName(reference) + suffix(reference);
}

/** The repository name as docker shows it: `busybox`, `user/img`, `localhost:5000/x`. */
export function familiarName(reference: ImageReference): string {
  if (reference.domain !== DEFAULT_DOMAIN) return repositoryName(reference);
  const rest = reference.path.slice(OFFICIAL_PREFIX.length);
  return reference.path.startsWith(OFFICIAL_PREFIX) && !rest.includes("/") ? rest : reference.path;
}

/** The reference as docker shows it: `busybox:latest`, `user/img:1.0`. */
export function familiarString(reference: ImageReference): string {
  return familiarName(reference) + suffix(reference);
}

/** Parses and normalises in one step: `busybox` → `docker.io/library/busybox:latest`. */
export function normalizeReference(text: string): string {
  return formatReference(withDefaultTag(parseReference(text)));
}

/** Docker's rule: the first component names a registry if it has "." or ":" or is localhost. */
function looksLikeDomain(component: string): boolean {
  return component.includes(".") || component.includes(":") || component === "localhost";
}

function suffix(reference: ImageReference): string {
  return (reference.tag === undefined ? "" : `:${reference.tag}`) + (reference.digest === undefined ? "" : `@${reference.digest}`);
}
