import { chmod, mkdir, readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { TsbuildError } from "../errors.js";
import { DEFAULT_DOMAIN } from "../oci/reference.js";
import { writeFileAtomic } from "../store/atomic-file.js";
import { helperCredentials, runCredentialHelper, type Credentials } from "./credential-helper.js";

/** Where the docker config is: `configDir`, else $DOCKER_CONFIG, else ~/.docker. */
export interface DockerConfigOptions {
  configDir?: string;
  env?: Record<string, string | undefined>;
}

/** The parts of docker's config.json that logins use; everything else is kept as it is. */
export interface DockerConfigFile {
  auths?: Record<string, { auth?: string; identitytoken?: string; [key: string]: unknown }>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
  [key: string]: unknown;
}

// Docker Hub's credentials are stored under its old index URL, as docker does.
const DOCKER_HUB_SERVER = "https://index.docker.io/v1/";

/** The directory of config.json. */
export function dockerConfigDir(options: DockerConfigOptions = {}): string {
  if (options.configDir !== undefined) return options.configDir;
  const env = options.env ?? process.env;
  if (env.DOCKER_CONFIG !== undefined && env.DOCKER_CONFIG !== "") return env.DOCKER_CONFIG;
  return join(env.HOME ?? homedir(), ".docker");
}

/** The key a registry's credentials are stored under: its domain, or Docker Hub's index URL. */
export function credentialServerKey(domain: string): string {
  return domain === DEFAULT_DOMAIN ? DOCKER_HUB_SERVER : domain;
}

/** The config.json, or an empty one when there is none. */
export async function readDockerConfig(options: DockerConfigOptions = {}): Promise<DockerConfigFile> {
  const path = join(dockerConfigDir(options), "config.json");
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return {};
    throw new TsbuildError("FILE_NOT_FOUND", `Cannot read docker config "${path}": ${(error as Error).message}`, { cause: error });
  }
  try {
    const parsed = JSON.parse(text) as unknown;
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error("not a JSON object");
    return parsed as DockerConfigFile;
  } catch (error) {
    throw new TsbuildError("USAGE", `Cannot parse docker config "${path}": ${(error as Error).message}`, { cause: error });
  }
}

async function writeDockerConfig(config: DockerConfigFile, options: DockerConfigOptions): Promise<void> {
  const dir = dockerConfigDir(options);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  // The file holds secrets: its directory is made 0700, and the file is made 0600 at once.
  const path = join(dir, "config.json");
  await writeFileAtomic(path, `${JSON.stringify(config, null, "\t")}\n`);
  await chmod(path, 0o600);
}

/**
 * The credentials for a registry: from its credential helper (`credHelpers`, else
 * `credsStore`) when that is installed, else from `auths` (base64 `user:password`, as
 * `docker login` stores them). Undefined when there are none: anonymous access.
 */
export async function lookupCredentials(domain: string, options: DockerConfigOptions = {}): Promise<Credentials | undefined> {
  const config = await readDockerConfig(options);
  const key = credentialServerKey(domain);
  const helper = findEntry(config.credHelpers, domain) ?? config.credsStore;
  if (helper !== undefined && helper !== "") {
    const fromHelper = await helperCredentials(helper, key);
    if (fromHelper !== undefined && fromHelper.username !== "<token>") return fromHelper;
  }
  const entry = findEntry(config.auths, domain);
  if (entry?.auth === undefined || entry.auth === "") return undefined;
  const decoded = Buffer.from(entry.auth, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) throw new TsbuildError("USAGE", `Cannot use the stored login for "${domain}": its auth field is not base64 "user:password"`);
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** Stores credentials where docker would: the credential helper if one is configured, else `auths`. */
export async function storeCredentials(domain: string, credentials: Credentials, options: DockerConfigOptions = {}): Promise<void> {
  const config = await readDockerConfig(options);
  const key = credentialServerKey(domain);
  const helper = findEntry(config.credHelpers, domain) ?? config.credsStore;
  if (helper !== undefined && helper !== "") {
    const stored = await runCredentialHelper(helper, { action: "store", input: JSON.stringify({ ServerURL: key, Username: credentials.username, Secret: credentials.password }) });
    if (stored === undefined) throw new TsbuildError("SYSTEM", `Cannot store the login: credential helper "docker-credential-${helper}" is not installed`);
    // docker leaves an empty entry in auths so that `docker info`-like listings know the server.
    config.auths = { ...config.auths, [key]: {} };
  } else {
    const auth = Buffer.from(`${credentials.username}:${credentials.password}`, "utf8").toString("base64");
    config.auths = { ...config.auths, [key]: { ...(config.auths?.[key] ?? {}), auth } };
  }
  await writeDockerConfig(config, options);
}

/** Removes stored credentials; false when there were none. */
export async function eraseCredentials(domain: string, options: DockerConfigOptions = {}): Promise<boolean> {
  const config = await readDockerConfig(options);
  const key = credentialServerKey(domain);
  const helper = findEntry(config.credHelpers, domain) ?? config.credsStore;
  let found = false;
  if (helper !== undefined && helper !== "") found = (await runCredentialHelper(helper, { action: "erase", input: key })) !== undefined;
  const auths = { ...(config.auths ?? {}) };
  for (const name of Object.keys(auths)) {
    if (serverDomain(name) === domain || name === key) {
      delete auths[name];
      found = true;
    }
  }
  if (found) await writeDockerConfig({ ...config, auths }, options);
  return found;
}

/**
 * A login server as users type it (`localhost:5000`, `https://ghcr.io/`, `docker.io`,
 * `index.docker.io`) as the domain references use.
 */
export function serverDomain(server: string): string {
  const host = server.replace(/^[a-z]+:\/\//i, "").replace(/\/.*$/, "").toLowerCase();
  if (host === "" || host === "index.docker.io" || host === "registry-1.docker.io" || host === "docker.io") return DEFAULT_DOMAIN;
  return host;
}

/** The entry of a map keyed by server (`host`, `https://host`, `https://host/v1/`) for `domain`. */
function findEntry<T>(map: Record<string, T> | undefined, domain: string): T | undefined {
  if (map === undefined) return undefined;
  const key = credentialServerKey(domain);
  if (map[key] !== undefined) return map[key];
  for (const [name, value] of Object.entries(map)) if (serverDomain(name) === domain) return value;
  return undefined;
}
