import { TsbuildError } from "../errors.js";
import { digestOf, isDigest, type Digest } from "./digest.js";
import {
  OCI_MEDIA_TYPES,
  isConfigMediaType,
  isIndexMediaType,
  isLayerMediaType,
  isManifestMediaType,
} from "./media-types.js";

/** The annotation that names an image in an OCI layout's index.json. */
export const REF_NAME_ANNOTATION = "org.opencontainers.image.ref.name";

/** A platform, as in an index entry or an image config. */
export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
  "os.version"?: string;
  "os.features"?: string[];
}

/** A pointer to content: its media type, digest and size (OCI image-spec descriptor). */
export interface Descriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  platform?: Platform;
  artifactType?: string;
}

/** A single-platform image manifest. */
export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

/** A list of manifests (multi-platform image), also the shape of an OCI layout's index.json. */
export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  manifests: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

/** The run-time defaults of an image (the `config` object of an image config). */
export interface ContainerConfig {
  User?: string;
  ExposedPorts?: Record<string, Record<string, never>>;
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Volumes?: Record<string, Record<string, never>>;
  WorkingDir?: string;
  Labels?: Record<string, string>;
  StopSignal?: string;
  ArgsEscaped?: boolean;
  Healthcheck?: {
    Test?: string[];
    Interval?: number;
    Timeout?: number;
    StartPeriod?: number;
    StartInterval?: number;
    Retries?: number;
  };
  OnBuild?: string[] | null;
  Shell?: string[];
}

/** One entry of an image's history. */
export interface HistoryEntry {
  created?: string;
  created_by?: string;
  author?: string;
  comment?: string;
  empty_layer?: boolean;
}

/** An image config (OCI, with the docker extensions BuildKit writes). */
export interface ImageConfig extends Platform {
  created?: string;
  author?: string;
  /** docker's image comment (`commit -m`); not in the OCI spec, which lets readers skip it. */
  comment?: string;
  config?: ContainerConfig;
  rootfs: { type: "layers"; diff_ids: Digest[] };
  history?: HistoryEntry[];
}

/** Parsed content of a manifest-like blob. */
export type ManifestLike =
  | { kind: "manifest"; manifest: ImageManifest }
  | { kind: "index"; index: ImageIndex };

/** A descriptor for `data` (serialised JSON or raw bytes) with the given media type. */
export function createDescriptor(
  mediaType: string,
  data: string | Uint8Array,
  extra: Pick<Descriptor, "annotations" | "platform" | "urls" | "artifactType"> = {},
): Descriptor {
  const size = typeof data === "string" ? Buffer.byteLength(data) : data.byteLength;
  return { mediaType, digest: digestOf(data), size, ...extra };
}

/**
 * The bytes tsbuild stores for a JSON document (compact, so its digest is reproducible).
 * A lone surrogate (a Dockerfile byte that is not UTF-8, kept as an escape) becomes U+FFFD,
 * as Go's `encoding/json` writes invalid UTF-8, so a config's bytes match BuildKit's.
 */
export function serializeJson(value: unknown): Buffer {
  const text = JSON.stringify(value);
  return Buffer.from(/\\ud[89a-f]/i.test(text) ? JSON.stringify(value, wellFormedStrings) : text);
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

function wellFormedStrings(this: unknown, _key: string, value: unknown): unknown {
  return typeof value === "string" ? value.replace(LONE_SURROGATE, "\ufffd") : value;
}

/** Builds an OCI image manifest over a config and layers. */
export function createImageManifest(
  config: Descriptor,
  layers: Descriptor[],
  options: { annotations?: Record<string, string>; subject?: Descriptor } = {},
): ImageManifest {
  const manifest: ImageManifest = { schemaVersion: 2, mediaType: OCI_MEDIA_TYPES.manifest, config, layers };
  if (options.subject !== undefined) manifest.subject = options.subject;
  if (options.annotations !== undefined) manifest.annotations = options.annotations;
  return manifest;
}

/** Builds an OCI image index over manifests. */
export function createImageIndex(manifests: Descriptor[], annotations?: Record<string, string>): ImageIndex {
  const index: ImageIndex = { schemaVersion: 2, mediaType: OCI_MEDIA_TYPES.index, manifests };
  if (annotations !== undefined) index.annotations = annotations;
  return index;
}

/** Checks that `value` is a well-formed descriptor; `where` names it in the error. */
export function validateDescriptor(value: unknown, where: string): Descriptor {
  if (!isObject(value)) throw invalid(where, "is not an object");
  if (typeof value.mediaType !== "string" || value.mediaType === "") throw invalid(where, "has no mediaType");
  if (!isDigest(value.digest)) throw invalid(where, `has an invalid digest "${String(value.digest)}"`);
  if (!Number.isSafeInteger(value.size) || (value.size as number) < 0) {
    throw invalid(where, `has an invalid size "${String(value.size)}"`);
  }
  if (value.annotations !== undefined && !isStringMap(value.annotations)) throw invalid(where, "has invalid annotations");
  return value as unknown as Descriptor;
}

/**
 * Parses a manifest or an index from its bytes, telling them apart by mediaType (or, when a
 * document leaves it out, by which of `manifests` / `config` it has).
 */
export function parseManifestLike(data: string | Uint8Array, where = "manifest"): ManifestLike {
  const value = parseJsonObject(data, where);
  if (value.schemaVersion !== 2) throw invalid(where, `has schemaVersion "${String(value.schemaVersion)}", expected "2"`);
  const mediaType = value.mediaType as string | undefined;
  const looksLikeIndex = isIndexMediaType(mediaType) || (mediaType === undefined && Array.isArray(value.manifests));
  if (looksLikeIndex) {
    if (!Array.isArray(value.manifests)) throw invalid(where, "has no manifests list");
    value.manifests.forEach((entry, i) => validateDescriptor(entry, `${where} entry ${i}`));
    return { kind: "index", index: value as unknown as ImageIndex };
  }
  if (mediaType !== undefined && !isManifestMediaType(mediaType)) {
    throw invalid(where, `has unsupported mediaType "${mediaType}"`);
  }
  validateDescriptor(value.config, `${where} config`);
  if (!Array.isArray(value.layers)) throw invalid(where, "has no layers list");
  value.layers.forEach((layer, i) => validateDescriptor(layer, `${where} layer ${i}`));
  return { kind: "manifest", manifest: value as unknown as ImageManifest };
}

/** Parses an image manifest (not an index) from its bytes. */
export function parseImageManifest(data: string | Uint8Array, where = "manifest"): ImageManifest {
  const parsed = parseManifestLike(data, where);
  if (parsed.kind !== "manifest") throw invalid(where, "is an index, expected a manifest");
  return parsed.manifest;
}

/** Parses an image index from its bytes. */
export function parseImageIndex(data: string | Uint8Array, where = "index"): ImageIndex {
  const parsed = parseManifestLike(data, where);
  if (parsed.kind !== "index") throw invalid(where, "is a manifest, expected an index");
  return parsed.index;
}

/** Parses an image config from its bytes. */
export function parseImageConfig(data: string | Uint8Array, where = "image config"): ImageConfig {
  const value = parseJsonObject(data, where);
  const rootfs = value.rootfs;
  if (!isObject(rootfs) || rootfs.type !== "layers" || !Array.isArray(rootfs.diff_ids)) {
    throw invalid(where, "has no rootfs of type \"layers\"");
  }
  for (const diffId of rootfs.diff_ids) {
    if (!isDigest(diffId)) throw invalid(where, `has an invalid diff id "${String(diffId)}"`);
  }
  if (typeof value.architecture !== "string" || typeof value.os !== "string") {
    throw invalid(where, "has no architecture or os");
  }
  return value as unknown as ImageConfig;
}

/** Checks that a manifest's descriptors have media types fit for their places. */
export function checkManifestMediaTypes(manifest: ImageManifest, where = "manifest"): void {
  if (!isConfigMediaType(manifest.config.mediaType) && manifest.artifactType === undefined) {
    throw invalid(where, `has a config of mediaType "${manifest.config.mediaType}"`);
  }
  manifest.layers.forEach((layer, i) => {
    if (!isLayerMediaType(layer.mediaType) && manifest.artifactType === undefined) {
      throw invalid(where, `has layer ${i} of mediaType "${layer.mediaType}"`);
    }
  });
}

/** Every blob a manifest-like document points at directly. */
export function referencedDescriptors(parsed: ManifestLike): Descriptor[] {
  const direct = parsed.kind === "index" ? [...parsed.index.manifests] : [parsed.manifest.config, ...parsed.manifest.layers];
  const subject = parsed.kind === "index" ? parsed.index.subject : parsed.manifest.subject;
  return subject === undefined ? direct : [...direct, subject];
}

function parseJsonObject(data: string | Uint8Array, where: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(typeof data === "string" ? data : Buffer.from(data).toString("utf8"));
  } catch (error) {
    throw new TsbuildError("INVALID_ARCHIVE", `Cannot parse ${where}: ${(error as Error).message}`, { cause: error });
  }
  if (!isObject(value)) throw invalid(where, "is not a JSON object");
  return value;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isStringMap(value: unknown): boolean {
  return isObject(value) && Object.values(value).every((v) => typeof v === "string");
}

function invalid(where: string, what: string): TsbuildError {
  return new TsbuildError("INVALID_ARCHIVE", `Invalid ${where}: ${what}`);
}

/**
 * The chain ids of a layer stack (OCI image-spec, layer chain id): the first is the first
 * diff id, each next one the digest of "<previous chain id> <diff id>". Snapshotters key
 * committed snapshots by them.
 */
export function computeChainIds(diffIds: readonly Digest[]): Digest[] {
  const chainIds: Digest[] = [];
  for (const diffId of diffIds) {
    const previous = chainIds[chainIds.length - 1];
    chainIds.push(previous === undefined ? diffId : digestOf(`${previous} ${diffId}`));
  }
  return chainIds;
}
