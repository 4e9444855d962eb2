import { setTimeout as sleep } from "node:timers/promises";
import { TsbuildError, isTsbuildError } from "../errors.js";
import { digestOf, isDigest, type Digest } from "../oci/digest.js";
import { DOCKER_MEDIA_TYPES, OCI_MEDIA_TYPES } from "../oci/media-types.js";
import { httpFetch } from "../util/http-fetch.js";
import { parseAuthChallenges, type AuthChallenge } from "./auth-challenge.js";
import type { Credentials } from "./credential-helper.js";
import { registryEndpoint, type RegistryEndpoint } from "./registry-endpoint.js";
import { RegistryError, redactUrl } from "./registry-error.js";

export interface RegistryClientOptions {
  /** For Basic auth and for Bearer token requests; anonymous without. */
  credentials?: Credentials;
  /** Registries that may be plain HTTP besides loopback ones. */
  insecureRegistries?: readonly string[];
  /** Retries of a request that met a 5xx, a 429 or a broken connection. Default 4. */
  retries?: number;
  /** The first backoff delay; it doubles on each retry. Default 250 ms. */
  retryDelayMs?: number;
  signal?: AbortSignal;
}

/** A manifest or index as the registry served it. */
export interface FetchedManifest {
  bytes: Buffer;
  mediaType: string;
  digest: Digest;
}

/** A blob to upload: its digest and size, and how to read it (again, for a retry). */
export interface BlobToUpload {
  digest: Digest;
  size: number;
  open(): AsyncIterable<Uint8Array> | Promise<AsyncIterable<Uint8Array>>;
}

/** How an upload ended. */
export type UploadOutcome = "exists" | "mounted" | "uploaded";

export interface UploadBlobOptions {
  /** Repositories of the same registry that may hold the blob: tried with a cross-repository mount. */
  mountFrom?: readonly string[];
  /** Upload in PATCH chunks of this many bytes; default one monolithic PUT. */
  chunkSize?: number;
  /** Called with the bytes sent so far. */
  onProgress?: (sent: number) => void;
}

/** What `request` needs to know about one call. */
interface RequestSpec {
  method: string;
  /** A path under the base URL (`/v2/...`) or an absolute URL (upload locations). */
  url: string;
  scopes: string[];
  headers?: Record<string, string>;
  /** Made anew for each try, so a retried request sends its body again. */
  body?: () => Uint8Array | AsyncIterable<Uint8Array> | undefined;
  /** What the request is for, in errors: `pull "x:1"`. */
  what: string;
  /** Statuses returned to the caller instead of thrown. Default: 2xx. */
  accept?: (status: number) => boolean;
}

/** Every manifest type tsbuild reads, in order of preference. */
export const MANIFEST_ACCEPT = [OCI_MEDIA_TYPES.index, OCI_MEDIA_TYPES.manifest, DOCKER_MEDIA_TYPES.manifestList, DOCKER_MEDIA_TYPES.manifest];

const MAX_REDIRECTS = 5;
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

/**
 * A client of one registry (OCI distribution spec, docker's registry API v2). Authenticates
 * as the registry asks: Basic, or a Bearer token from the realm of its WWW-Authenticate
 * challenge (cached per scope); retries 5xx, 429 and broken connections with backoff; never
 * puts credentials or tokens in messages.
 */
export class RegistryClient {
  readonly endpoint: RegistryEndpoint;
  readonly #credentials: Credentials | undefined;
  readonly #retries: number;
  readonly #retryDelayMs: number;
  readonly #signal: AbortSignal | undefined;
  #challenge: AuthChallenge | undefined;
  readonly #tokens = new Map<string, Promise<string>>();

  constructor(domain: string, options: RegistryClientOptions = {}) {
    this.endpoint = registryEndpoint(domain, options.insecureRegistries === undefined ? {} : { insecureRegistries: options.insecureRegistries });
    this.#credentials = options.credentials;
    this.#retries = options.retries ?? 4;
    this.#retryDelayMs = options.retryDelayMs ?? 250;
    this.#signal = options.signal;
  }

  /** Checks the registry speaks API v2 and accepts these credentials (anonymous when none). */
  async ping(): Promise<void> {
    const response = await this.#request({ method: "GET", url: "/v2/", scopes: [], what: `reach registry "${this.endpoint.domain}"` });
    await response.body?.cancel();
  }

  /**
   * Logs in: like `ping`, but an open registry's challenge-less answer is fine and a token
   * realm is asked for a token with these credentials even when /v2/ needs none.
   */
  async login(): Promise<void> {
    await this.ping();
    if (this.#challenge?.scheme === "bearer" && this.#credentials !== undefined) await this.#token([]);
  }

  /** A manifest or index by tag or digest; a digest reference is checked against the content. */
  async getManifest(repository: string, reference: string): Promise<FetchedManifest> {
    const response = await this.#request({
      method: "GET",
      url: `/v2/${repository}/manifests/${reference}`,
      scopes: [pullScope(repository)],
      headers: { accept: MANIFEST_ACCEPT.join(", ") },
      what: `get manifest "${repository}:${reference}"`,
    });
    const bytes = await readLimited(response, MAX_MANIFEST_BYTES);
    const digest = digestOf(bytes);
    const url = `${this.endpoint.baseUrl}/v2/${repository}/manifests/${reference}`;
    if (isDigest(reference) && digest !== reference) {
      throw new RegistryError(`Manifest "${repository}@${reference}" from registry "${this.endpoint.domain}" does not match its digest: got "${digest}"`, {
        code: "DIGEST_MISMATCH",
        status: response.status,
        url,
      });
    }
    const served = response.headers.get("docker-content-digest");
    if (served !== null && isDigest(served) && served !== digest) {
      throw new RegistryError(`Manifest "${repository}:${reference}" from registry "${this.endpoint.domain}" does not match the digest it was served with: "${served}", got "${digest}"`, {
        code: "DIGEST_MISMATCH",
        status: response.status,
        url,
      });
    }
    const mediaType = (response.headers.get("content-type") ?? "").split(";")[0].trim() || mediaTypeInside(bytes);
    return { bytes, mediaType, digest };
  }

  /** The digest a tag points at (HEAD), or undefined when the registry has no such manifest. */
  async headManifest(repository: string, reference: string): Promise<Digest | undefined> {
    const response = await this.#request({
      method: "HEAD",
      url: `/v2/${repository}/manifests/${reference}`,
      scopes: [pullScope(repository)],
      headers: { accept: MANIFEST_ACCEPT.join(", ") },
      what: `check manifest "${repository}:${reference}"`,
      accept: (status) => status === 404 || (status >= 200 && status < 300),
    });
    if (response.status === 404) return undefined;
    const digest = response.headers.get("docker-content-digest");
    return digest !== null && isDigest(digest) ? digest : undefined;
  }

  /** True when the repository has the blob (HEAD). */
  async hasBlob(repository: string, digest: Digest, options: { push?: boolean } = {}): Promise<boolean> {
    const response = await this.#request({
      method: "HEAD",
      url: `/v2/${repository}/blobs/${digest}`,
      scopes: [options.push === true ? pushScope(repository) : pullScope(repository)],
      what: `check blob "${digest}" in "${repository}"`,
      accept: (status) => status === 404 || (status >= 200 && status < 300),
    });
    return response.status !== 404;
  }

  /**
   * The content of a blob, streamed. A connection that breaks part way is resumed with a
   * Range request from the byte reached (a registry that ignores Range sends it all again
   * and the part already given is skipped); the caller verifies the digest.
   */
  async *readBlob(repository: string, digest: Digest, options: { size?: number } = {}): AsyncGenerator<Uint8Array> {
    let offset = 0;
    let breaks = 0;
    for (;;) {
      const response = await this.#request({
        method: "GET",
        url: `/v2/${repository}/blobs/${digest}`,
        scopes: [pullScope(repository)],
        headers: offset > 0 ? { range: `bytes=${offset}-` } : {},
        what: `get blob "${digest}" of "${repository}"`,
      });
      let skip = 0;
      if (offset > 0) {
        const start = /^bytes (\d+)-/.exec(response.headers.get("content-range") ?? "")?.[1];
        skip = response.status === 206 && start !== undefined ? offset - Number(start) : offset;
        if (skip < 0) {
          await response.body?.cancel();
          throw new RegistryError(`Cannot resume blob "${digest}": the registry answered from byte ${start}, not ${offset}`, { status: response.status, url: response.url });
        }
      }
      try {
        if (response.body === null) throw new Error("response has no body");
        for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
          let data = chunk;
          if (skip > 0) {
            const dropped = Math.min(skip, data.byteLength);
            skip -= dropped;
            data = data.subarray(dropped);
            if (data.byteLength === 0) continue;
          }
          offset += data.byteLength;
          yield data;
        }
        if (options.size !== undefined && offset < options.size) throw new Error(`connection closed at byte ${offset} of ${options.size}`);
        return;
      } catch (error) {
        if (this.#isAborted()) throw cancelled(this.#signal!);
        if (isTsbuildError(error) || breaks >= this.#retries) {
          throw new RegistryError(`Cannot download blob "${digest}" from "${this.endpoint.domain}/${repository}": ${(error as Error).message}`, {
            status: 0,
            url: response.url,
            cause: error,
          });
        }
        breaks++;
        await sleep(this.#retryDelayMs * 2 ** (breaks - 1));
      }
    }
  }

  /**
   * Uploads a blob unless the repository has it: HEAD, then a cross-repository mount from
   * the first of `mountFrom` (a registry that cannot mount opens an upload session instead,
   * which is used), then a monolithic PUT (or PATCH chunks and a closing PUT). `blob.open`
   * is called again when a broken upload starts over.
   */
  async uploadBlob(repository: string, blob: BlobToUpload, options: UploadBlobOptions = {}): Promise<UploadOutcome> {
    const open = blob.open;
    if (await this.hasBlob(repository, blob.digest, { push: true })) return "exists";
    let location: string | undefined;
    for (const from of options.mountFrom ?? []) {
      if (from === repository) continue;
      const response = await this.#request({
        method: "POST",
        url: `/v2/${repository}/blobs/uploads/?mount=${encodeURIComponent(blob.digest)}&from=${encodeURIComponent(from)}`,
        scopes: [pushScope(repository), pullScope(from)],
        what: `mount blob "${blob.digest}" from "${from}"`,
        // A registry that cannot mount (no such blob there, or not allowed) opens an upload.
        accept: (status) => status === 201 || status === 202,
      });
      await response.body?.cancel();
      if (response.status === 201) return "mounted";
      location = response.headers.get("location") ?? undefined;
      break;
    }
    for (let attempt = 0; ; attempt++) {
      try {
        await this.#upload(repository, { ...options, blob: { digest: blob.digest, size: blob.size }, open, location });
        return "uploaded";
      } catch (error) {
        location = undefined;
        if (!isRetryable(error) || attempt >= this.#retries || this.#isAborted()) throw error;
        await sleep(this.#retryDelayMs * 2 ** attempt);
      }
    }
  }

  /** PUTs a manifest or index under a tag or its digest; returns the digest the registry gives it. */
  async putManifest(repository: string, manifest: { reference: string; bytes: Uint8Array; mediaType: string }): Promise<Digest> {
    const { reference } = manifest;
    const response = await this.#request({
      method: "PUT",
      url: `/v2/${repository}/manifests/${reference}`,
      scopes: [pushScope(repository)],
      headers: { "content-type": manifest.mediaType },
      body: () => manifest.bytes,
      what: `put manifest "${repository}:${reference}"`,
    });
    await response.body?.cancel();
    const digest = digestOf(manifest.bytes);
    const served = response.headers.get("docker-content-digest");
    if (served !== null && isDigest(served) && served !== digest) {
      throw new RegistryError(`Registry "${this.endpoint.domain}" stored manifest "${repository}:${reference}" as "${served}", expected "${digest}"`, {
        code: "DIGEST_MISMATCH",
        status: response.status,
        url: response.url,
      });
    }
    return digest;
  }

  async #upload(repository: string, job: UploadBlobOptions & { blob: { digest: Digest; size: number }; open: BlobToUpload["open"]; location: string | undefined }): Promise<void> {
    const { blob, open } = job;
    let location = job.location;
    if (location === undefined) {
      const started = await this.#request({ method: "POST", url: `/v2/${repository}/blobs/uploads/`, scopes: [pushScope(repository)], what: `start upload of "${blob.digest}"`, accept: (s) => s === 202 });
      await started.body?.cancel();
      location = this.#resolveLocation(started, `/v2/${repository}/blobs/uploads/`);
    }
    // Opened only once the upload has started, and closed however it ends.
    const content = await open();
    try {
      await this.#send(repository, { ...job, content, location });
    } finally {
      (content as { destroy?: () => void }).destroy?.();
    }
  }

  async #send(repository: string, job: UploadBlobOptions & { blob: { digest: Digest; size: number }; content: AsyncIterable<Uint8Array>; location: string }): Promise<void> {
    const { blob, content } = job;
    const options = job;
    let location = job.location;
    const what = `upload blob "${blob.digest}" to "${repository}"`;
    let sent = 0;
    const counted = async function* (source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
      for await (const chunk of source) {
        sent += chunk.byteLength;
        options.onProgress?.(sent);
        yield chunk;
      }
    };
    const chunkSize = options.chunkSize;
    if (chunkSize === undefined || blob.size <= chunkSize) {
      const response = await this.#request({
        method: "PUT",
        url: withQuery(location, "digest", blob.digest),
        scopes: [pushScope(repository)],
        headers: { "content-type": "application/octet-stream", "content-length": String(blob.size) },
        body: once(() => counted(content)),
        what,
        accept: (s) => s === 201,
      });
      await response.body?.cancel();
      return;
    }
    for await (const piece of rechunk(content, chunkSize)) {
      const response = await this.#request({
        method: "PATCH",
        url: location,
        scopes: [pushScope(repository)],
        headers: {
          "content-type": "application/octet-stream",
          "content-length": String(piece.byteLength),
          "content-range": `${sent}-${sent + piece.byteLength - 1}`,
        },
        body: once(() => piece),
        what,
        accept: (s) => s === 202,
      });
      await response.body?.cancel();
      sent += piece.byteLength;
      options.onProgress?.(sent);
      location = this.#resolveLocation(response, location);
    }
    const closed = await this.#request({ method: "PUT", url: withQuery(location, "digest", blob.digest), scopes: [pushScope(repository)], headers: { "content-length": "0" }, what, accept: (s) => s === 201 });
    await closed.body?.cancel();
  }

  #isAborted(): boolean {
    return this.#signal?.aborted === true;
  }

  #resolveLocation(response: Response, previous: string): string {
    const header = response.headers.get("location");
    if (header === null) {
      throw new RegistryError(`Registry "${this.endpoint.domain}" started an upload without a Location`, { status: response.status, url: response.url });
    }
    return new URL(header, new URL(previous, this.endpoint.baseUrl)).href;
  }

  /**
   * One API call with authentication, redirects and retries. Statuses the spec does not
   * make the caller's business become RegistryErrors naming the registry and what failed.
   */
  async #request(spec: RequestSpec): Promise<Response> {
    let url = new URL(spec.url, this.endpoint.baseUrl);
    let authRetried = false;
    let attempt = 0;
    let redirects = 0;
    for (;;) {
      if (this.#isAborted()) throw cancelled(this.#signal!);
      const sameOrigin = url.origin === new URL(this.endpoint.baseUrl).origin;
      const headers: Record<string, string> = { "user-agent": "tsbuild", ...(spec.headers ?? {}) };
      if (sameOrigin) {
        const authorization = await this.#authorization(spec.scopes);
        if (authorization !== undefined) headers.authorization = authorization;
      }
      const body = spec.body?.();
      let response: Response;
      try {
        response = await httpFetch(url, {
          method: spec.method,
          headers,
          redirect: "manual",
          ...(this.#signal === undefined ? {} : { signal: this.#signal }),
          ...(body === undefined ? {} : { body, duplex: "half" }),
        } as RequestInit);
      } catch (error) {
        if (this.#isAborted()) throw cancelled(this.#signal!);
        if (isTsbuildError(error)) throw error;
        const failure = describeNetworkError(error, url);
        if (attempt < this.#retries && spec.body === undefined && failure.retry) {
          await sleep(this.#retryDelayMs * 2 ** attempt++);
          continue;
        }
        throw new RegistryError(`Cannot ${spec.what}: registry "${this.endpoint.domain}" ${failure.what}`, {
          status: 0,
          url: url.href,
          cause: error,
          hint: failure.tls && !this.endpoint.insecure ? `If it speaks plain HTTP, mark it insecure: insecure = true for it in registries.conf, or $TSBUILD_INSECURE_REGISTRIES=${this.endpoint.domain}` : failure.hint,
        });
      }
      const status = response.status;
      if (status >= 300 && status < 400 && response.headers.has("location") && (spec.method === "GET" || spec.method === "HEAD")) {
        await response.body?.cancel();
        const next = new URL(response.headers.get("location")!, url);
        if (++redirects > MAX_REDIRECTS) throw new RegistryError(`Cannot ${spec.what}: too many redirects`, { status, url: url.href });
        if (next.protocol === "http:" && url.protocol === "https:") {
          throw new RegistryError(`Cannot ${spec.what}: the registry redirected from HTTPS to plain HTTP`, { status, url: next.href });
        }
        url = next; // Authorization goes to the registry's origin only (see above).
        continue;
      }
      if (status === 401 && sameOrigin && !authRetried) {
        authRetried = true;
        const challenge = pickChallenge(response.headers.get("www-authenticate"));
        await response.body?.cancel();
        if (challenge !== undefined) {
          this.#challenge = challenge;
          if (challenge.scheme === "bearer") this.#tokens.delete(scopeKey(spec.scopes));
          if (challenge.scheme === "bearer" || this.#credentials !== undefined) continue;
        }
        throw await this.#error(spec, response, url);
      }
      if (spec.accept !== undefined ? spec.accept(status) : status >= 200 && status < 300) return response;
      if ((status >= 500 || status === 429) && attempt < this.#retries && (spec.body === undefined || spec.method === "PUT" && spec.url.includes("/manifests/"))) {
        await response.body?.cancel();
        await sleep(retryDelay(response, this.#retryDelayMs * 2 ** attempt++));
        continue;
      }
      throw await this.#error(spec, response, url);
    }
  }

  async #authorization(scopes: string[]): Promise<string | undefined> {
    const challenge = this.#challenge;
    if (challenge === undefined) return undefined;
    if (challenge.scheme === "basic") {
      return this.#credentials === undefined ? undefined : `Basic ${basic(this.#credentials)}`;
    }
    if (challenge.scheme === "bearer") return `Bearer ${await this.#token(scopes)}`;
    return undefined;
  }

  /** A Bearer token for these scopes from the challenge's realm (docker's token protocol), cached. */
  async #token(scopes: string[]): Promise<string> {
    const key = scopeKey(scopes);
    let pending = this.#tokens.get(key);
    if (pending === undefined) {
      pending = this.#fetchToken(scopes);
      this.#tokens.set(key, pending);
      pending.catch(() => this.#tokens.delete(key));
    }
    return pending;
  }

  async #fetchToken(scopes: string[]): Promise<string> {
    const challenge = this.#challenge!;
    const realm = challenge.params.realm;
    if (realm === undefined) throw new RegistryError(`Registry "${this.endpoint.domain}" asked for a token without saying where to get one (no realm)`, { status: 401, url: this.endpoint.baseUrl });
    const url = new URL(realm);
    if (url.protocol === "http:" && !this.endpoint.insecure) {
      throw new RegistryError(`Registry "${this.endpoint.domain}" names a token realm over plain HTTP`, { status: 401, url: url.href, hint: "Credentials are only sent over HTTPS to registries not marked insecure" });
    }
    if (challenge.params.service !== undefined) url.searchParams.set("service", challenge.params.service);
    for (const scope of scopes) url.searchParams.append("scope", scope);
    const headers: Record<string, string> = { "user-agent": "tsbuild" };
    if (this.#credentials !== undefined) headers.authorization = `Basic ${basic(this.#credentials)}`;
    for (let attempt = 0; ; attempt++) {
      let response: Response;
      try {
        response = await httpFetch(url, { headers, ...(this.#signal === undefined ? {} : { signal: this.#signal }) });
      } catch (error) {
        if (attempt < this.#retries && !this.#isAborted()) {
          await sleep(this.#retryDelayMs * 2 ** attempt);
          continue;
        }
        const failure = describeNetworkError(error, url);
        throw new RegistryError(`Cannot get a token from "${redactUrl(url)}": the realm ${failure.what}`, { status: 0, url: url.href, cause: error, hint: failure.hint });
      }
      if ((response.status >= 500 || response.status === 429) && attempt < this.#retries) {
        await response.body?.cancel();
        await sleep(retryDelay(response, this.#retryDelayMs * 2 ** attempt));
        continue;
      }
      if (response.status === 401 || response.status === 403) {
        await response.body?.cancel();
        throw new RegistryError(
          this.#credentials === undefined
            ? `Registry "${this.endpoint.domain}" refused an anonymous token: authentication required`
            : `Registry "${this.endpoint.domain}" refused the login: wrong user name or password`,
          { status: response.status, url: url.href, hint: this.#credentials === undefined ? `Log in first: tsbuild login ${this.endpoint.domain}` : `Log in again: tsbuild login ${this.endpoint.domain}` },
        );
      }
      if (!response.ok) {
        await response.body?.cancel();
        throw new RegistryError(`Cannot get a token from "${redactUrl(url)}": HTTP ${response.status}`, { status: response.status, url: url.href });
      }
      const body = (await response.json().catch(() => ({}))) as { token?: unknown; access_token?: unknown };
      const token = typeof body.token === "string" && body.token !== "" ? body.token : body.access_token;
      if (typeof token !== "string" || token === "") {
        throw new RegistryError(`The token server of "${this.endpoint.domain}" answered without a token`, { status: response.status, url: url.href });
      }
      return token;
    }
  }

  /** The error for a failed call: the registry's own error code and message when it sent them. */
  async #error(spec: RequestSpec, response: Response, url: URL): Promise<RegistryError> {
    const status = response.status;
    let detail = "";
    if (spec.method !== "HEAD") {
      const text = await response.text().catch(() => "");
      try {
        const parsed = JSON.parse(text) as { errors?: Array<{ code?: string; message?: string }> };
        const first = parsed.errors?.[0];
        if (first !== undefined) detail = [first.code, first.message].filter((part) => typeof part === "string" && part !== "").join(": ");
      } catch {
        // Not the registry's JSON: the status says enough.
      }
    } else {
      await response.body?.cancel();
    }
    const domain = this.endpoint.domain;
    const said = detail === "" ? `HTTP ${status}` : `${detail} (HTTP ${status})`;
    const options = { status, url: url.href };
    // docker's "pull access denied": a registry answers the same for a name that does not
    // exist and for one this account may not read, so the message names both.
    if ((status === 401 || status === 403 || status === 404) && spec.url.includes("/manifests/") && (spec.method === "GET" || spec.method === "HEAD")) {
      const manifest = status === 404 && detail.startsWith("MANIFEST_UNKNOWN");
      return new RegistryError(
        manifest
          ? `Cannot ${spec.what}: registry "${domain}" has no such tag or digest (${said})`
          : `Cannot ${spec.what}: repository not found on registry "${domain}", or access denied (${said})`,
        {
          ...options,
          ...(status === 404 ? { code: "NOT_FOUND" as const } : {}),
          hint: manifest ? "Check the tag" : this.#credentials === undefined ? `Check the image name for a typo; if it is private, log in: tsbuild login ${domain}` : "Check the image name, and that this account may read it",
        },
      );
    }
    if (status === 401) {
      return new RegistryError(`Cannot ${spec.what}: registry "${domain}" requires authentication${this.#credentials === undefined ? "" : " and refused the credentials"} (${said})`, {
        ...options,
        hint: this.#credentials === undefined ? `Log in first: tsbuild login ${domain}` : `Check the user name and password: tsbuild login ${domain}`,
      });
    }
    if (status === 403) return new RegistryError(`Cannot ${spec.what}: registry "${domain}" denied access (${said})`, { ...options, hint: "Check that this account may access the repository" });
    if (status === 404) return new RegistryError(`Cannot ${spec.what}: registry "${domain}" has no such ${spec.url.includes("/blobs/") ? "blob" : spec.url.includes("/manifests/") ? "manifest" : "resource"} (${said})`, { ...options, code: "NOT_FOUND" });
    return new RegistryError(`Cannot ${spec.what}: registry "${domain}" answered ${said}`, options);
  }
}

/** `repository:<name>:pull`, docker's token scope. */
export function pullScope(repository: string): string {
  return `repository:${repository}:pull`;
}

/** `repository:<name>:pull,push`. */
export function pushScope(repository: string): string {
  return `repository:${repository}:pull,push`;
}

function scopeKey(scopes: string[]): string {
  return [...scopes].sort().join(" ");
}

function basic(credentials: Credentials): string {
  return Buffer.from(`${credentials.username}:${credentials.password}`, "utf8").toString("base64");
}

function pickChallenge(header: string | null): AuthChallenge | undefined {
  if (header === null) return undefined;
  const challenges = parseAuthChallenges(header);
  return challenges.find((c) => c.scheme === "bearer") ?? challenges.find((c) => c.scheme === "basic");
}

function retryDelay(response: Response, fallbackMs: number): number {
  const header = response.headers.get("retry-after");
  const seconds = header === null ? Number.NaN : Number(header);
  // Honoured, but capped: a registry asking for minutes should fail rather than hang a build.
  return Number.isFinite(seconds) && seconds >= 0 ? Math.min(seconds * 1000, 30_000) : fallbackMs;
}

function isRetryable(error: unknown): boolean {
  return error instanceof RegistryError && (error.status === 0 || error.status >= 500 || error.status === 429);
}

function cancelled(signal: AbortSignal): TsbuildError {
  return new TsbuildError("CANCELLED", "Registry operation cancelled", { cause: signal.reason });
}

/**
 * What a failed connection means, for a person: a host that does not resolve (a typo in the
 * name, or no network), a refused port, a TLS handshake with something that is not TLS.
 * `retry` is false where trying again cannot help.
 */
function describeNetworkError(error: unknown, url: URL): { what: string; hint: string | undefined; tls: boolean; retry: boolean } {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const code = cause?.code ?? "";
  const detail = code || cause?.message || (error as Error).message || String(error);
  const host = url.hostname.replace(/^\[|\]$/g, "");
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") {
    return { what: `cannot be reached: its host "${host}" does not resolve (${code})`, hint: "Check the image name for a typo, and this machine's DNS and network", tls: false, retry: code === "EAI_AGAIN" };
  }
  if (code === "ECONNREFUSED") return { what: `refused the connection to ${url.host} (${code})`, hint: `Is the registry running and listening on ${url.host}?`, tls: false, retry: true };
  const tls = url.protocol === "https:" && /EPROTO|ERR_SSL|SSL routines|wrong version number|packet length too long|ECONNRESET/i.test(`${code} ${cause?.message ?? ""}`);
  return { what: `is unreachable (${detail})`, hint: undefined, tls, retry: true };
}

async function readLimited(response: Response, limit: number): Promise<Buffer> {
  const declared = Number(response.headers.get("content-length") ?? "0");
  if (declared > limit) {
    await response.body?.cancel();
    throw new RegistryError(`Manifest is ${declared} bytes, more than the ${limit} allowed`, { status: response.status, url: response.url });
  }
  return Buffer.from(await response.arrayBuffer());
}

function mediaTypeInside(bytes: Buffer): string {
  try {
    const value = JSON.parse(bytes.toString("utf8")) as { mediaType?: unknown; manifests?: unknown };
    if (typeof value.mediaType === "string") return value.mediaType;
    return Array.isArray(value.manifests) ? OCI_MEDIA_TYPES.index : OCI_MEDIA_TYPES.manifest;
  } catch {
    return "";
  }
}

function withQuery(location: string, name: string, value: string): string {
  const url = new URL(location);
  url.searchParams.set(name, value);
  return url.href;
}

/** A body that can be sent once only: a retry of it fails instead of sending nothing. */
function once<T>(make: () => T): () => T {
  let used = false;
  return () => {
    if (used) throw new RegistryError("Cannot send an upload body twice", { status: 0, url: "" });
    used = true;
    return make();
  };
}

async function* rechunk(source: AsyncIterable<Uint8Array>, size: number): AsyncGenerator<Buffer> {
  let parts: Uint8Array[] = [];
  let length = 0;
  for await (const chunk of source) {
    let rest = chunk;
    while (length + rest.byteLength >= size) {
      const take = size - length;
      parts.push(rest.subarray(0, take));
      yield Buffer.concat(parts);
      parts = [];
      length = 0;
      rest = rest.subarray(take);
    }
    if (rest.byteLength > 0) {
      parts.push(rest);
      length += rest.byteLength;
    }
  }
  if (length > 0) yield Buffer.concat(parts);
}
