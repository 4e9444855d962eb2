import type { Credentials } from "./credential-helper.js";
import { lookupCredentials, type DockerConfigOptions } from "./docker-config.js";
import { RegistryClient } from "./registry-client.js";
import { findRegistryEntry, readRegistriesConf, type RegistriesConf } from "./registries-conf.js";
import { insecureRegistries } from "./registry-endpoint.js";
import { checkDomainNotBlocked, insecureDomains, pushTarget } from "./registry-sources.js";
import type { ImageReference } from "../oci/reference.js";
import type { ProgressListener } from "./transfer-progress.js";

/** How pull, push and ensureImage reach registries. */
export interface RegistryAccessOptions {
  /** Use these instead of the ones stored by `login` (docker's config.json). */
  credentials?: Credentials;
  /** Where config.json is (DOCKER_CONFIG, else ~/.docker). */
  dockerConfig?: DockerConfigOptions;
  /**
   * Registries that may be plain HTTP besides loopback ones (`--insecure-registry`), added to
   * $TSBUILD_INSECURE_REGISTRIES and registries.conf's `insecure` ones.
   */
  insecureRegistries?: readonly string[];
  /** registries.conf as read already; default: read as the containers tools do (see registries-conf.ts). */
  registriesConf?: RegistriesConf;
  /** Where $TSBUILD_INSECURE_REGISTRIES, $CONTAINERS_REGISTRIES_CONF and $HOME are read. Default process.env. */
  env?: Record<string, string | undefined>;
  /** Blobs transferred at once. Default 4. */
  concurrency?: number;
  /** Retries of a request that met a 5xx, 429 or broken connection. Default 4. */
  retries?: number;
  /** The first retry's delay, doubled each time. Default 250 ms. */
  retryDelayMs?: number;
  onProgress?: ProgressListener;
  signal?: AbortSignal;
}

/**
 * A client of `domain` with the credentials given or stored for it, plain HTTP where it is
 * loopback or marked insecure; a registry registries.conf blocks is refused.
 */
export async function openRegistryClient(domain: string, options: RegistryAccessOptions = {}): Promise<RegistryClient> {
  const env = options.env ?? process.env;
  const conf = options.registriesConf ?? (await readRegistriesConf({ env }));
  checkDomainNotBlocked(conf, domain, `reach registry "${domain}"`);
  const insecure = [...insecureRegistries(options.insecureRegistries ?? [], env), ...insecureDomains(conf), ...(findRegistryEntry(conf, domain)?.insecure ? [domain] : [])];
  const credentials = options.credentials ?? (await lookupCredentials(domain, options.dockerConfig ?? {}));
  return new RegistryClient(domain, {
    ...(credentials === undefined ? {} : { credentials }),
    insecureRegistries: insecure,
    ...(options.retries === undefined ? {} : { retries: options.retries }),
    ...(options.retryDelayMs === undefined ? {} : { retryDelayMs: options.retryDelayMs }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
}

/**
 * A client of the registry that a push of `reference` (or the build cache at it) goes to,
 * and the repository there: where registries.conf's `location` sends the name, plain HTTP
 * where it marks it insecure, refused where it blocks it.
 */
export async function openRegistryRepository(reference: ImageReference, options: RegistryAccessOptions = {}): Promise<{ client: RegistryClient; repository: string; domain: string }> {
  const registriesConf = options.registriesConf ?? (await readRegistriesConf(options.env === undefined ? {} : { env: options.env }));
  const target = pushTarget(registriesConf, reference);
  const client = await openRegistryClient(target.domain, {
    ...options,
    registriesConf,
    insecureRegistries: [...(options.insecureRegistries ?? []), ...(target.insecure ? [target.domain] : [])],
  });
  return { client, repository: target.repository, domain: target.domain };
}
