import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { createReadStream } from "node:fs";
import { join, resolve } from "node:path";
import { TsbuildError } from "../errors.js";
import { digestOf, type Digest } from "../oci/digest.js";
import type { Descriptor } from "../oci/image-types.js";
import { OCI_MEDIA_TYPES } from "../oci/media-types.js";
import { formatReference, parseReference, withDefaultTag } from "../oci/reference.js";
import type { RegistryAccessOptions } from "../registry/open-registry-client.js";
import type { RegistryClient } from "../registry/registry-client.js";
import type { ContentStore } from "../store/content-store.js";

/** `--cache-to` / `--cache-from` as parsed: where a build cache lives, and (to export) how much of it. */
export type CacheLocationSpec =
  | { type: "registry"; ref: string; mode?: "min" | "max" }
  | { type: "local"; dir: string; mode?: "min" | "max" };

/** The media type of the cache config blob (docs/build-cache.md). */
export const CACHE_CONFIG_MEDIA_TYPE = "application/vnd.tsbuild.cache.config.v1+json";
/** The media type of a step's key components (what a miss is explained against). */
export const CACHE_STEP_MEDIA_TYPE = "application/vnd.tsbuild.cache.step.v1+json";

/** Where an exported cache is read from and written to: a registry repository or an OCI layout directory. */
export interface CacheLocation {
  /** Its name in messages. */
  readonly name: string;
  /** The cache index, or undefined when there is none yet. */
  readIndex(): Promise<{ manifests: Descriptor[] } | undefined>;
  /** Copies a blob into `content`, verifying its digest and size. */
  fetchBlob(descriptor: Descriptor, content: ContentStore): Promise<void>;
  /** Writes a blob unless the location has it; says whether it was written. */
  putBlob(descriptor: Descriptor, content: ContentStore): Promise<boolean>;
  /** Writes the index last, so it never names a missing blob. */
  putIndex(bytes: Buffer): Promise<void>;
}

/**
 * Parses `type=registry,ref=R[,mode=min|max]` or `type=local,dest=DIR` (`src=DIR` to import).
 *
 * @example
 * parseCacheSpec("type=registry,ref=localhost:5000/app:cache,mode=max", { flag: "--cache-to" });
 */
export function parseCacheSpec(text: string, options: { flag: "--cache-to" | "--cache-from"; cwd?: string }): CacheLocationSpec {
  const { flag } = options;
  const fields = new Map<string, string>();
  for (const part of text.split(",")) {
    const eq = part.indexOf("=");
    if (eq <= 0) throw new TsbuildError("USAGE", `Cannot parse flag "${flag}": "${part}" is not KEY=VALUE`, { hint: "Use type=registry,ref=NAME or type=local,dest=DIR" });
    fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const mode = fields.get("mode");
  if (mode !== undefined && mode !== "min" && mode !== "max") throw new TsbuildError("USAGE", `Cannot parse flag "${flag}": mode "${mode}" is not min or max`);
  const withMode = mode === undefined ? {} : { mode: mode as "min" | "max" };
  const type = fields.get("type");
  if (type === "registry") {
    const ref = fields.get("ref");
    if (ref === undefined || ref === "") throw new TsbuildError("USAGE", `Cannot parse flag "${flag}": type=registry needs ref=NAME`);
    parseReference(ref);
    return { type, ref, ...withMode };
  }
  if (type === "local") {
    const key = flag === "--cache-to" ? "dest" : "src";
    const dir = fields.get(key);
    if (dir === undefined || dir === "") throw new TsbuildError("USAGE", `Cannot parse flag "${flag}": type=local needs ${key}=DIR`);
    return { type, dir: resolve(options.cwd ?? ".", dir), ...withMode };
  }
  throw new TsbuildError("USAGE", `Cannot parse flag "${flag}": type "${type ?? ""}" is not registry or local`, { hint: "Use type=registry,ref=NAME or type=local,dest=DIR" });
}

/** A location for `spec`: a registry client for its repository, or the directory. */
export async function openCacheLocation(spec: CacheLocationSpec, options: RegistryAccessOptions = {}): Promise<CacheLocation> {
  if (spec.type === "local") return new LocalCacheLocation(spec.dir);
  const reference = withDefaultTag(parseReference(spec.ref));
  // Loaded for a registry cache only: a build without one starts sooner.
  const { openRegistryRepository } = await import("../registry/open-registry-client.js");
  const { client, repository } = await openRegistryRepository(reference, options);
  return new RegistryCacheLocation(client, { repository, tag: reference.digest ?? reference.tag!, name: formatReference(reference) });
}

class RegistryCacheLocation implements CacheLocation {
  readonly name: string;
  readonly #client: RegistryClient;
  readonly #repository: string;
  readonly #tag: string;

  constructor(client: RegistryClient, options: { repository: string; tag: string; name: string }) {
    this.#client = client;
    this.#repository = options.repository;
    this.#tag = options.tag;
    this.name = options.name;
  }

  async readIndex(): Promise<{ manifests: Descriptor[] } | undefined> {
    const fetched = await this.#client.getManifest(this.#repository, this.#tag);
    return JSON.parse(fetched.bytes.toString("utf8")) as { manifests: Descriptor[] };
  }

  async fetchBlob(descriptor: Descriptor, content: ContentStore): Promise<void> {
    await content.write(this.#client.readBlob(this.#repository, descriptor.digest, { size: descriptor.size }), { digest: descriptor.digest, size: descriptor.size });
  }

  async putBlob(descriptor: Descriptor, content: ContentStore): Promise<boolean> {
    const outcome = await this.#client.uploadBlob(this.#repository, {
      digest: descriptor.digest,
      size: descriptor.size,
      open: async () => (await content.openStream(descriptor.digest)) as AsyncIterable<Uint8Array>,
    });
    return outcome === "uploaded";
  }

  async putIndex(bytes: Buffer): Promise<void> {
    await this.#client.putManifest(this.#repository, { reference: this.#tag, bytes, mediaType: OCI_MEDIA_TYPES.index });
  }
}

/** An OCI image layout directory whose index.json names the cache index (tagged `latest`). */
class LocalCacheLocation implements CacheLocation {
  readonly name: string;
  readonly #dir: string;

  constructor(dir: string) {
    this.#dir = dir;
    this.name = dir;
  }

  #blobPath(digest: Digest): string {
    return join(this.#dir, "blobs", "sha256", digest.slice("sha256:".length));
  }

  async readIndex(): Promise<{ manifests: Descriptor[] } | undefined> {
    const text = await readFile(join(this.#dir, "index.json"), "utf8").catch((error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") return undefined;
      throw error;
    });
    if (text === undefined) return undefined;
    const layout = JSON.parse(text) as { manifests?: Descriptor[] };
    const top = layout.manifests?.find((m) => m.mediaType === OCI_MEDIA_TYPES.index);
    if (top === undefined) return undefined;
    const bytes = await readFile(this.#blobPath(top.digest));
    if (digestOf(bytes) !== top.digest) throw new TsbuildError("DIGEST_MISMATCH", `Cannot read cache "${this.name}": its index is not "${top.digest}"`);
    return JSON.parse(bytes.toString("utf8")) as { manifests: Descriptor[] };
  }

  async fetchBlob(descriptor: Descriptor, content: ContentStore): Promise<void> {
    await content.write(createReadStream(this.#blobPath(descriptor.digest)), { digest: descriptor.digest, size: descriptor.size });
  }

  async putBlob(descriptor: Descriptor, content: ContentStore): Promise<boolean> {
    const path = this.#blobPath(descriptor.digest);
    const existing = await readFile(path).catch(() => undefined);
    if (existing !== undefined && existing.byteLength === descriptor.size) return false;
    await mkdir(join(this.#dir, "blobs", "sha256"), { recursive: true });
    await writeFile(`${path}.tmp`, await content.read(descriptor.digest));
    await rename(`${path}.tmp`, path);
    return true;
  }

  async putIndex(bytes: Buffer): Promise<void> {
    const digest = digestOf(bytes);
    await mkdir(join(this.#dir, "blobs", "sha256"), { recursive: true });
    await writeFile(this.#blobPath(digest), bytes);
    await writeFile(join(this.#dir, "oci-layout"), `${JSON.stringify({ imageLayoutVersion: "1.0.0" })}\n`);
    const layout = { schemaVersion: 2, mediaType: OCI_MEDIA_TYPES.index, manifests: [{ mediaType: OCI_MEDIA_TYPES.index, digest, size: bytes.byteLength, annotations: { "org.opencontainers.image.ref.name": "latest" } }] };
    await writeFile(join(this.#dir, "index.json.tmp"), `${JSON.stringify(layout)}\n`);
    await rename(join(this.#dir, "index.json.tmp"), join(this.#dir, "index.json"));
  }
}
