import { TsbuildError } from "../errors.js";
import type { Credentials } from "./credential-helper.js";
import { eraseCredentials, serverDomain, storeCredentials, type DockerConfigOptions } from "./docker-config.js";
import { openRegistryClient } from "./open-registry-client.js";

export interface LoginOptions {
  /** Where config.json is (DOCKER_CONFIG, else ~/.docker). */
  dockerConfig?: DockerConfigOptions;
  insecureRegistries?: readonly string[];
  retries?: number;
  retryDelayMs?: number;
}

/**
 * docker's `login`: checks the credentials against the registry (Basic, or a token from its
 * realm), then stores them in config.json (or its credential helper). Returns the domain.
 *
 * @example
 * await login("localhost:5000", { username: "ci", password: token });
 */
export async function login(server: string, credentials: Credentials, options: LoginOptions = {}): Promise<{ domain: string }> {
  const domain = serverDomain(server);
  if (credentials.username === "") throw new TsbuildError("USAGE", "Cannot log in: the user name is empty");
  if (credentials.password === "") throw new TsbuildError("USAGE", "Cannot log in: the password is empty");
  // Through openRegistryClient: registries.conf's insecure and blocked registries apply.
  const client = await openRegistryClient(domain, {
    credentials,
    ...(options.insecureRegistries === undefined ? {} : { insecureRegistries: options.insecureRegistries }),
    ...(options.retries === undefined ? {} : { retries: options.retries }),
    ...(options.retryDelayMs === undefined ? {} : { retryDelayMs: options.retryDelayMs }),
  });
  await client.login();
  await storeCredentials(domain, credentials, options.dockerConfig ?? {});
  return { domain };
}

/** docker's `logout`: forgets the stored credentials; `removed` is false when there were none. */
export async function logout(server: string, options: { dockerConfig?: DockerConfigOptions } = {}): Promise<{ domain: string; removed: boolean }> {
  const domain = serverDomain(server);
  return { domain, removed: await eraseCredentials(domain, options.dockerConfig ?? {}) };
}
