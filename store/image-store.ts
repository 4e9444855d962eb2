import { TsbuildError } from "../errors.js";
import { isDigest, shortDigest, type Digest } from "../oci/digest.js";
import { REF_NAME_ANNOTATION, parseImageConfig, type Descriptor, type ManifestLike } from "../oci/image-types.js";
import { OCI_MEDIA_TYPES } from "../oci/media-types.js";
import { familiarString, formatReference, parseReference, withDefaultTag } from "../oci/reference.js";
import type { BlobGraphWalker } from "./blob-graph.js";
import type { ContentStore } from "./content-store.js";
import { readLayoutIndex, writeLayoutIndex } from "./layout-index.js";
import type { WithStoreLock } from "./ref-store.js";
import type { StorePaths } from "./store-paths.js";
import { compareStrings } from "../util/compare-strings.js";

/** containerd's name annotation; written too so `ctr import` of the layout keeps the names. */
export const CONTAINERD_NAME_ANNOTATION = "io.containerd.image.name";
/** When tsbuild stored the entry (OCI pre-defined annotation key). */
export const CREATED_ANNOTATION = "org.opencontainers.image.created";

/**
 * One entry of content/index.json: a name (or none: a dangling image) pointing at a manifest
 * or index. These entries are tsbuild's image records: one atomic rename updates the records
 * and the OCI layout together, so they can never disagree.
 */
export interface ImageRecord {
  /** Full normalised name with tag (`docker.io/library/busybox:latest`), or undefined. */
  name?: string;
  digest: Digest;
  mediaType: string;
  size: number;
  /** When the entry was stored (ISO 8601). */
  storedAt?: string;
}

/** An image as listings show it: every name of one manifest together. */
export interface ImageSummary {
  /** The config digest (docker's image id); for an index, the index digest. */
  id: Digest;
  /** The short id docker shows: 12 hex digits. */
  shortId: string;
  /** The manifest (or index) digest. */
  digest: Digest;
  mediaType: string;
  /** Full names, sorted; empty for a dangling image. */
  names: string[];
  /** Names as docker shows them (`busybox:latest`). */
  familiarNames: string[];
  /** From the image config, when it says. */
  created?: string;
  storedAt?: string;
  /** Bytes of every blob the image reaches (manifest, config, layers), each counted once. */
  size: number;
}

/** The image records of a store, kept in the OCI layout's index.json. */
export class ImageStore {
  readonly #paths: StorePaths;
  readonly #content: ContentStore;
  readonly #walker: BlobGraphWalker;
  readonly #withLock: WithStoreLock;

  constructor(parts: { paths: StorePaths; content: ContentStore; walker: BlobGraphWalker; withLock: WithStoreLock }) {
    this.#paths = parts.paths;
    this.#content = parts.content;
    this.#walker = parts.walker;
    this.#withLock = parts.withLock;
  }

  /** Every entry of index.json, names normalised; entries from other tools included. */
  async records(): Promise<ImageRecord[]> {
    const index = await readLayoutIndex(this.#paths);
    return index.manifests.map(toRecord);
  }

  /**
   * Every image whose manifest (and config) can be read, grouped by manifest digest. Entries
   * pointing at missing or broken content are skipped here and reported by fsck.
   */
  async list(): Promise<ImageSummary[]> {
    return this.#summaries(await this.records());
  }

  async #summaries(records: readonly ImageRecord[]): Promise<ImageSummary[]> {
    const byDigest = new Map<Digest, ImageRecord[]>();
    for (const record of records) {
      const group = byDigest.get(record.digest) ?? [];
      group.push(record);
      byDigest.set(record.digest, group);
    }
    const images: ImageSummary[] = [];
    for (const [digest, group] of byDigest) {
      const summary = await this.#summarize(digest, group);
      if (summary !== undefined) images.push(summary);
    }
    return images.sort(newestFirst);
  }

  /**
   * Finds an image as docker does: a full id or digest, a name (`busybox` means
   * `docker.io/library/busybox:latest`), `name@sha256:...`, or a unique id prefix.
   */
  async find(text: string): Promise<ImageSummary | undefined> {
    // A manifest digest or a name picks its records first, and only those are summarized
    // (a summary reads the manifest, the config and every blob's size): a build resolves its
    // bases several times, and a store may hold hundreds of images. An image id (its
    // config's digest) or an id prefix needs every image's summary.
    const records = await this.records();
    const summaryOf = (digest: Digest) => this.#summarize(digest, records.filter((record) => record.digest === digest));
    let all: Promise<ImageSummary[]> | undefined;
    const everyImage = () => (all ??= this.#summaries(records));
    const asDigest = text.startsWith("sha256:") ? text : `sha256:${text}`;
    if (isDigest(asDigest)) {
      const byDigest = records.some((record) => record.digest === asDigest) ? await summaryOf(asDigest) : undefined;
      const match = byDigest ?? (await everyImage()).find((image) => image.id === asDigest);
      if (match !== undefined) return match;
    }
    let name: string | undefined;
    let digest: Digest | undefined;
    try {
      const reference = parseReference(text);
      digest = reference.digest;
      name = digest === undefined ? formatReference(withDefaultTag(reference)) : undefined;
    } catch (error) {
      if (!/^(sha256:)?[0-9a-f]{1,64}$/.test(text)) throw error;
    }
    if (digest !== undefined) return records.some((record) => record.digest === digest) ? summaryOf(digest) : undefined;
    // The newest record of the name (a name has one, unless another tool wrote the index).
    const named = records.filter((record) => record.name === name).sort(newestFirst)[0];
    const namedSummary = named === undefined ? undefined : await summaryOf(named.digest);
    if (namedSummary !== undefined) return namedSummary;
    const prefix = /^(?:sha256:)?([0-9a-f]{1,64})$/.exec(text)?.[1];
    if (prefix === undefined) return undefined;
    const matches = (await everyImage()).filter((image) => image.id.slice("sha256:".length).startsWith(prefix));
    if (matches.length > 1) {
      throw new TsbuildError("CONFLICT", `Image id prefix "${text}" matches ${matches.length} images`, {
        hint: "Give more digits of the id",
      });
    }
    return matches[0];
  }

  /** Like `find`, but a missing image is a NOT_FOUND error. */
  async get(text: string): Promise<ImageSummary> {
    const image = await this.find(text);
    if (image === undefined) throw new TsbuildError("NOT_FOUND", `No such image "${text}"`);
    return image;
  }

  /**
   * Points `name` (docker grammar; `latest` when no tag) at the manifest or index `digest`,
   * which must be in the content store. An image that loses its last name this way stays,
   * dangling, as docker keeps it.
   */
  async tag(name: string, digest: Digest, options: { storedAt?: Date } = {}): Promise<ImageRecord> {
    const reference = withDefaultTag(parseReference(name));
    if (reference.digest !== undefined) {
      throw new TsbuildError("INVALID_REFERENCE", `Invalid reference "${name}": a tag cannot include a digest`);
    }
    const fullName = formatReference(reference);
    const storedAt = (options.storedAt ?? new Date()).toISOString();
    return this.#withLock(async () => {
      // Checked under the lock, so a concurrent gc cannot delete the content in between.
      const descriptor = await this.#describe(digest);
      const entries = (await readLayoutIndex(this.#paths)).manifests;
      const previous = entries.find((entry) => toRecord(entry).name === fullName);
      // The name already points here (a cached rebuild): nothing to write, as docker's tag.
      if (previous?.digest === digest && options.storedAt === undefined) return toRecord(previous);
      const kept = entries.filter((entry) => {
        const record = toRecord(entry);
        if (record.name === fullName) return false;
        return !(record.name === undefined && record.digest === digest); // now named again
      });
      if (previous !== undefined && previous.digest !== digest && !kept.some((entry) => entry.digest === previous.digest)) {
        kept.push(withAnnotations(previous, undefined)); // the old image keeps living, dangling
      }
      const entry: Descriptor = {
        ...descriptor,
        annotations: { [REF_NAME_ANNOTATION]: fullName, [CONTAINERD_NAME_ANNOTATION]: fullName, [CREATED_ANNOTATION]: storedAt },
      };
      kept.push(entry);
      await writeLayoutIndex(this.#paths, kept);
      return toRecord(entry);
    });
  }

  /** Records a nameless (dangling) image, e.g. a build without `-t`, unless it has an entry. */
  async keep(digest: Digest, options: { storedAt?: Date } = {}): Promise<ImageRecord> {
    return this.#withLock(async () => {
      const descriptor = await this.#describe(digest);
      const entries = (await readLayoutIndex(this.#paths)).manifests;
      const existing = entries.find((entry) => entry.digest === digest);
      if (existing !== undefined) return toRecord(existing);
      const entry: Descriptor = { ...descriptor, annotations: { [CREATED_ANNOTATION]: (options.storedAt ?? new Date()).toISOString() } };
      await writeLayoutIndex(this.#paths, [...entries, entry]);
      return toRecord(entry);
    });
  }

  /** Removes the entries of the given names and digests (nameless ones for digests). */
  async removeEntries(selection: { names?: string[]; digests?: Digest[] }): Promise<ImageRecord[]> {
    const names = new Set(selection.names ?? []);
    const digests = new Set(selection.digests ?? []);
    return this.#withLock(async () => {
      const entries = (await readLayoutIndex(this.#paths)).manifests;
      const removed: ImageRecord[] = [];
      const kept = entries.filter((entry) => {
        const record = toRecord(entry);
        const drop = (record.name !== undefined && names.has(record.name)) || digests.has(record.digest);
        if (drop) removed.push(record);
        return !drop;
      });
      if (removed.length > 0) await writeLayoutIndex(this.#paths, kept);
      return removed;
    });
  }

  /** The parsed manifest or index `digest`; NOT_FOUND or INVALID_ARCHIVE when it is not one. */
  async readManifest(digest: Digest): Promise<ManifestLike> {
    if (!(await this.#content.has(digest))) {
      throw new TsbuildError("NOT_FOUND", `Manifest "${digest}" is not in the content store`);
    }
    const parsed = await this.#walker.parse(digest);
    if (parsed === null) throw new TsbuildError("INVALID_ARCHIVE", `Blob "${digest}" is not an image manifest or index`);
    return parsed;
  }

  /**
   * An image by its manifest or index digest when no record names it any more (untagged
   * while a build's lease still holds its blobs): summarised from the blob itself, nameless.
   */
  async summarizeContent(digest: Digest): Promise<ImageSummary | undefined> {
    const info = await this.#content.stat(digest);
    if (info === undefined) return undefined;
    const parsed = await this.#walker.parse(digest);
    if (parsed === null) return undefined;
    const mediaType =
      (parsed.kind === "index" ? parsed.index.mediaType : parsed.manifest.mediaType) ??
      (parsed.kind === "index" ? OCI_MEDIA_TYPES.index : OCI_MEDIA_TYPES.manifest);
    return this.#summarize(digest, [{ digest, mediaType, size: info.size }]);
  }

  async #describe(digest: Digest): Promise<Descriptor> {
    const parsed = await this.readManifest(digest);
    if (parsed.kind === "manifest") {
      // An index may lack other platforms' manifests; a manifest must be complete to be run.
      for (const blob of [parsed.manifest.config, ...parsed.manifest.layers]) {
        if (!(await this.#content.has(blob.digest))) {
          throw new TsbuildError("NOT_FOUND", `Image "${digest}" is incomplete: blob "${blob.digest}" is not in the content store`);
        }
      }
    }
    const info = await this.#content.stat(digest);
    const mediaType =
      (parsed.kind === "index" ? parsed.index.mediaType : parsed.manifest.mediaType) ??
      (parsed.kind === "index" ? OCI_MEDIA_TYPES.index : OCI_MEDIA_TYPES.manifest);
    return { mediaType, digest, size: info!.size };
  }

  async #summarize(digest: Digest, group: ImageRecord[]): Promise<ImageSummary | undefined> {
    const parsed = await this.#walker.parse(digest);
    if (parsed === null) return undefined;
    let id: Digest = digest;
    let created: string | undefined;
    if (parsed.kind === "manifest") {
      id = parsed.manifest.config.digest;
      try {
        created = parseImageConfig(await this.#content.read(id)).created;
      } catch {
        return undefined; // config missing or broken: fsck reports it
      }
    }
    const graph = await this.#walker.walk([{ digest, mediaType: group[0].mediaType }]);
    const names = [...new Set(group.flatMap((record) => (record.name === undefined ? [] : [record.name])))].sort();
    const storedAt = group.map((record) => record.storedAt ?? "").sort().pop() || undefined;
    const summary: ImageSummary = {
      id,
      shortId: shortDigest(id),
      digest,
      mediaType: group[0].mediaType,
      names,
      familiarNames: names.map(displayName),
      size: [...graph.reachable.values()].reduce((sum, size) => sum + size, 0),
    };
    if (created !== undefined) summary.created = created;
    if (storedAt !== undefined) summary.storedAt = storedAt;
    return summary;
  }
}

/** Images (or records) newest first, then by digest: the order `list` gives. */
function newestFirst(a: { storedAt?: string; digest: Digest }, b: { storedAt?: string; digest: Digest }): number {
  return compareStrings(b.storedAt ?? "", a.storedAt ?? "") || compareStrings(a.digest, b.digest);
}

/** The record an index.json entry stands for; names other tools wrote are normalised. */
export function toRecord(entry: Descriptor): ImageRecord {
  const record: ImageRecord = { digest: entry.digest, mediaType: entry.mediaType, size: entry.size };
  const raw = entry.annotations?.[CONTAINERD_NAME_ANNOTATION] ?? entry.annotations?.[REF_NAME_ANNOTATION];
  if (raw !== undefined) record.name = normalizeOrKeep(raw);
  const storedAt = entry.annotations?.[CREATED_ANNOTATION];
  if (storedAt !== undefined) record.storedAt = storedAt;
  return record;
}

function normalizeOrKeep(name: string): string {
  try {
    const reference = parseReference(name);
    return reference.digest === undefined ? formatReference(withDefaultTag(reference)) : name;
  } catch {
    return name;
  }
}

function displayName(name: string): string {
  try {
    return familiarString(parseReference(name));
  } catch {
    return name;
  }
}

function withAnnotations(entry: Descriptor, name: string | undefined): Descriptor {
  const annotations = { ...(entry.annotations ?? {}) };
  delete annotations[REF_NAME_ANNOTATION];
  delete annotations[CONTAINERD_NAME_ANNOTATION];
  if (name !== undefined) {
    annotations[REF_NAME_ANNOTATION] = name;
    annotations[CONTAINERD_NAME_ANNOTATION] = name;
  }
  const result: Descriptor = { ...entry, annotations };
  if (Object.keys(annotations).length === 0) delete result.annotations;
  return result;
}
