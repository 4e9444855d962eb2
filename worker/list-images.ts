import type { Digest } from "../oci/digest.js";
import { familiarName, parseReference } from "../oci/reference.js";
import { imageSize } from "./image-size.js";
import { readLayerSizes } from "./layer-sizes.js";
import { imagePlatforms } from "./image-platforms.js";
import { resolveImage } from "./resolve-image.js";
import type { Worker } from "./worker.js";

export interface ListImagesOptions {
  /** docker's `-a`. tsbuild keeps no intermediate images, so it lists the same. */
  all?: boolean;
}

/** One row of `images`: one name of an image, or `<none>` for a dangling one. */
export interface ImageListEntry {
  /** Image id (config digest). */
  id: Digest;
  /** 12 hex digits. */
  shortId: string;
  manifestDigest: Digest;
  /** As docker shows it (`busybox`, `user/app`), or `<none>`. */
  repository: string;
  /** The tag, or `<none>`. */
  tag: string;
  /** From the image config, when it says (ISO 8601). */
  created?: string;
  /** Bytes of the layers' content, as docker counts it (see image-size.ts); of a multi-platform image, of every platform the store holds. */
  size: number;
  /** The config's labels (`--filter label=`); of a multi-platform image, its first platform's. */
  labels: Record<string, string>;
  /** The platforms the store holds the image for (`linux/amd64`); several for a multi-platform image. */
  platforms: string[];
}

/** docker's `images`: a row per name, newest images first. */
export async function listImages(worker: Worker, _options: ListImagesOptions = {}): Promise<ImageListEntry[]> {
  const known = await readLayerSizes(worker.store);
  const rows: ImageListEntry[] = [];
  for (const summary of await worker.store.images.list()) {
    let size = summary.size;
    let labels: Record<string, string> = {};
    let created = summary.created;
    const platforms = await imagePlatforms(worker.store, summary.digest);
    if (platforms.length > 1) {
      size = 0;
      for (const platform of platforms) size += await imageSize(worker.store, platform.image, known);
      created ??= platforms[0].image.config.created;
      labels = platforms[0].image.config.config?.Labels ?? {};
    } else {
      try {
        const image = await resolveImage(worker.store, summary.digest);
        size = await imageSize(worker.store, image, known);
        labels = image.config.config?.Labels ?? {};
      } catch {
        // An index without this platform's manifest: show what its blobs take.
      }
    }
    const base = {
      id: summary.id,
      shortId: summary.shortId,
      manifestDigest: summary.digest,
      size,
      labels,
      platforms: platforms.map((platform) => platform.platform),
      ...(created === undefined ? {} : { created }),
    };
    if (summary.names.length === 0) rows.push({ ...base, repository: "<none>", tag: "<none>" });
    for (const name of summary.names) {
      const reference = parseReference(name);
      rows.push({ ...base, repository: familiarName(reference), tag: reference.tag ?? "<none>" });
    }
  }
  return rows;
}
