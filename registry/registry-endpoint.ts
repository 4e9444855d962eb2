import { DEFAULT_DOMAIN } from "../oci/reference.js";

/** Where a registry's API is reached, and whether it may be plain HTTP. */
export interface RegistryEndpoint {
  /** The registry as references name it: `docker.io`, `localhost:5000`. */
  domain: string;
  /** The API base without the `/v2/`: `https://registry-1.docker.io`. */
  baseUrl: string;
  insecure: boolean;
}

/** The environment variable listing registries that may be plain HTTP (comma separated). */
export const INSECURE_REGISTRIES_ENV = "TSBUILD_INSECURE_REGISTRIES";

// Docker Hub's references say docker.io; its API lives elsewhere.
const DOCKER_HUB_API = "registry-1.docker.io";

/**
 * HTTPS, except for loopback hosts and registries the user listed as insecure, which use
 * plain HTTP (as docker treats localhost and `insecure-registries`).
 */
export function registryEndpoint(domain: string, options: { insecureRegistries?: readonly string[] } = {}): RegistryEndpoint {
  const host = domain === DEFAULT_DOMAIN ? DOCKER_HUB_API : domain;
  const insecure = isLoopback(domain) || (options.insecureRegistries ?? []).some((entry) => sameRegistry(entry, domain));
  return { domain, baseUrl: `${insecure ? "http" : "https"}://${host}`, insecure };
}

/** The insecure registries of `--insecure-registry` flags plus $TSBUILD_INSECURE_REGISTRIES. */
export function insecureRegistries(flags: readonly string[], env: Record<string, string | undefined>): string[] {
  const fromEnv = (env[INSECURE_REGISTRIES_ENV] ?? "").split(",").map((entry) => entry.trim());
  return [...flags, ...fromEnv].filter((entry) => entry !== "");
}

/** True for localhost, 127.0.0.0/8 and ::1, with any port. */
export function isLoopback(domain: string): boolean {
  const host = hostOf(domain);
  return host === "localhost" || host === "::1" || /^127(?:\.\d{1,3}){3}$/.test(host);
}

function hostOf(domain: string): string {
  if (domain.startsWith("[")) return domain.slice(1, domain.indexOf("]"));
  return domain.split(":")[0];
}

// `host` in the list covers every port of it; `host:port` only that port.
function sameRegistry(entry: string, domain: string): boolean {
  const bare = entry.replace(/^[a-z]+:\/\//, "").replace(/\/.*$/, "");
  return bare === domain || (!/:\d+$/.test(bare) && hostOf(domain) === hostOf(bare));
}
