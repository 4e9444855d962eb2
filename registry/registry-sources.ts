import { TsbuildError } from "../errors.js";
import { DEFAULT_DOMAIN, type ImageReference } from "../oci/reference.js";
import { findRegistryEntry, type RegistriesConf } from "./registries-conf.js";

/** One place an image is pulled from or pushed to: a registry and a repository on it. */
export interface RegistrySource {
  domain: string;
  repository: string;
  /** Plain HTTP, as registries.conf says for this location. */
  insecure: boolean;
  /** A mirror: when it fails, the next source is tried. */
  mirror: boolean;
}

/**
 * Where a pull of `reference` looks, in order, as containers-registries.conf(5) says: the
 * mirrors of its `[[registry]]` that serve this kind of pull (by tag or by digest), then its
 * `location` (the matched prefix replaced by it). Without an entry, the reference's own
 * registry. A blocked name is refused.
 */
export function pullSources(conf: RegistriesConf, reference: ImageReference, what = "pull"): RegistrySource[] {
  const name = `${reference.domain}/${reference.path}`;
  const entry = findRegistryEntry(conf, name);
  if (entry === undefined) return [{ domain: reference.domain, repository: reference.path, insecure: false, mirror: false }];
  if (entry.blocked) {
    throw new TsbuildError("REGISTRY", `Cannot ${what} "${name}": registry "${entry.prefix}" is blocked in ${conf.file ?? "registries.conf"}`, {
      hint: `Remove "blocked = true" from its [[registry]] if it may be used`,
    });
  }
  // A wildcard prefix has no location to put in its place: its names stay as they are.
  const rest = entry.prefix.startsWith("*.") ? undefined : name.slice(entry.prefix.length);
  const at = (location: string, flags: { insecure: boolean; mirror: boolean }) => split(rest === undefined ? name : `${location}${rest}`, flags);
  const byDigest = reference.digest !== undefined;
  const mirrors = entry.mirrors
    .filter((mirror) => mirror.pullFromMirror === "all" || (mirror.pullFromMirror === "digest-only") === byDigest)
    .map((mirror) => at(mirror.location, { insecure: mirror.insecure, mirror: true }));
  return [...mirrors, at(entry.location, { insecure: entry.insecure, mirror: false })];
}

/** Where a push of `reference` goes: its location (mirrors are for pulls only). */
export function pushTarget(conf: RegistriesConf, reference: ImageReference): RegistrySource {
  return pullSources(conf, { ...reference, digest: undefined }, "push").at(-1)!;
}

/** Every registry (`host[:port]`) registries.conf marks insecure, locations and mirrors. */
export function insecureDomains(conf: RegistriesConf): string[] {
  const domains: string[] = [];
  for (const entry of conf.registries) {
    if (entry.insecure) domains.push(domainOf(entry.location.replace(/^\*\./, "")));
    for (const mirror of entry.mirrors) if (mirror.insecure) domains.push(domainOf(mirror.location));
  }
  return domains;
}

/** Refuses a registry that registries.conf blocks as a whole (`prefix = "host"`). */
export function checkDomainNotBlocked(conf: RegistriesConf, domain: string, what: string): void {
  const entry = findRegistryEntry(conf, domain);
  if (entry?.blocked) {
    throw new TsbuildError("REGISTRY", `Cannot ${what}: registry "${entry.prefix}" is blocked in ${conf.file ?? "registries.conf"}`, {
      hint: `Remove "blocked = true" from its [[registry]] if it may be used`,
    });
  }
}

function split(location: string, flags: { insecure: boolean; mirror: boolean }): RegistrySource {
  const slash = location.indexOf("/");
  const domain = slash === -1 ? location : location.slice(0, slash);
  const repository = slash === -1 ? "" : location.slice(slash + 1);
  if (repository === "") throw new TsbuildError("INVALID_CONFIG", `Cannot use registry location "${location}": it names no repository`);
  return { domain, repository, ...flags };
}

function domainOf(location: string): string {
  return location.split("/")[0];
}

/**
 * The names a pull of `text` tries, in order. A short name (`busybox`, `team/app:1`: no
 * registry in it) is looked for in each of registries.conf's `unqualified-search-registries`,
 * as podman and buildah do; without that list, on docker.io alone, as docker does. Any other
 * name is itself. (A Dockerfile's FROM is resolved by the frontend first and always means
 * docker.io, as with BuildKit: a build does not change with the host's configuration.)
 */
export function searchCandidates(conf: RegistriesConf, text: string): string[] {
  const slash = text.indexOf("/");
  const first = slash === -1 ? "" : text.slice(0, slash);
  const qualified = first.includes(".") || first.includes(":") || first === "localhost";
  if (qualified || conf.unqualifiedSearchRegistries.length === 0) return [text];
  return conf.unqualifiedSearchRegistries.map((registry) => (registry === DEFAULT_DOMAIN && slash === -1 ? `${registry}/library/${text}` : `${registry}/${text}`));
}
