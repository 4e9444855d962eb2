/** The distribution client: pull, push, login and the build's image resolver. */
export { pullImage, type PullImageOptions, type PullImageResult } from "./pull-image.js";
export { pushImage, type PushImageOptions, type PushImageResult } from "./push-image.js";
export { ensureImage, type EnsureImageOptions } from "./ensure-image.js";
export { createRegistryImageResolver } from "./registry-image-resolver.js";
export { login, logout, type LoginOptions } from "./login.js";
export { openRegistryClient, openRegistryRepository, type RegistryAccessOptions } from "./open-registry-client.js";
export { RegistryClient, MANIFEST_ACCEPT, pullScope, pushScope, type RegistryClientOptions, type FetchedManifest, type UploadBlobOptions, type UploadOutcome, type BlobToUpload } from "./registry-client.js";
export { RegistryError, redactUrl } from "./registry-error.js";
export { registryEndpoint, insecureRegistries, isLoopback, INSECURE_REGISTRIES_ENV, type RegistryEndpoint } from "./registry-endpoint.js";
export { parseAuthChallenges, type AuthChallenge } from "./auth-challenge.js";
export { lookupCredentials, storeCredentials, eraseCredentials, dockerConfigDir, readDockerConfig, serverDomain, credentialServerKey, type DockerConfigOptions, type DockerConfigFile } from "./docker-config.js";
export { type Credentials } from "./credential-helper.js";
export { parsePlatform, formatPlatform, selectPlatformManifest } from "./platform-match.js";
export { type TransferProgress, type ProgressListener } from "./transfer-progress.js";
