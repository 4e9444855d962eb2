import type { Credentials } from "./credential-helper.js";
import { lookupCredentials, type DockerConfigOptions } from "./docker-config.js";
import { RegistryClient } from "./registry-client.js";
import type { ProgressListener } from "./transfer-progress.js";

/** How pull, push and ensureImage reach registries. */
export interface RegistryAccessOptions {
  /** Use these instead of the ones stored by `login` (docker's config.json). */
  credentials?: Credentials;
  /** Where config.json is (DOCKER_CONFIG, else ~/.docker). */
  dockerConfig?: DockerConfigOptions;
  /** Registries that may be plain HTTP besides loopback ones (`--insecure-registry`). */
  insecureRegistries?: readonly string[];
  /** Blobs transferred at once. Default 4. */
  concurrency?: number;
  /** Retries of a request that met a 5xx, 429 or broken connection. Default 4. */
  retries?: number;
  /** The first retry's delay, doubled each time. Default 250 ms. */
  retryDelayMs?: number;
  onProgress?: ProgressListener;
  signal?: AbortSignal;
}

/** A client of `domain` with the credentials given or stored for it. */
export async function openRegistryClient(domain: string, options: RegistryAccessOptions = {}): Promise<RegistryClient> {
  const credentials = options.credentials ?? (await lookupCredentials(domain, options.dockerConfig ?? {}));
  return new RegistryClient(domain, {
    ...(credentials === undefined ? {} : { credentials }),
    ...(options.insecureRegistries === undefined ? {} : { insecureRegistries: options.insecureRegistries }),
    ...(options.retries === undefined ? {} : { retries: options.retries }),
    ...(options.retryDelayMs === undefined ? {} : { retryDelayMs: options.retryDelayMs }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
}
