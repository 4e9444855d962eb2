import type { Digest } from "../oci/digest.js";
import type { ContainerConfig, Platform } from "../oci/image-types.js";
import { familiarName, familiarString, parseReference } from "../oci/reference.js";
import { imageSize } from "./image-size.js";
import { imagePlatforms } from "./image-platforms.js";
import { readLayerSizes } from "./layer-sizes.js";
import { resolveImage } from "./resolve-image.js";
import type { Worker } from "./worker.js";

/** docker's `image inspect` object, with the fields tsbuild knows. */
export interface ImageInspect {
  Id: Digest;
  RepoTags: string[];
  RepoDigests: string[];
  Parent: string;
  Comment: string;
  Created: string;
  DockerVersion: string;
  Author: string;
  Config: ContainerConfig | null;
  Architecture: string;
  Variant?: string;
  Os: string;
  Size: number;
  RootFS: { Type: string; Layers: Digest[] };
  Metadata: { LastTagTime: string };
  /** A multi-platform image: every platform the store holds, as docker's containerd image store lists them. The rest of the object is one platform's (this host's, or `platform`). */
  Manifests?: Array<{ Platform: string; Digest: Digest; Id: Digest; Size: number }>;
}

// Go's zero time, which docker prints for times it does not know.
const ZERO_TIME = "0001-01-01T00:00:00Z";

/** docker's `inspect` of one image: ids, names, config and layers as docker's JSON names them. */
export async function inspectImage(worker: Worker, reference: string, options: { platform?: Platform } = {}): Promise<ImageInspect> {
  const image = await resolveImage(worker.store, reference, options.platform === undefined ? {} : { platform: options.platform });
  const { config, summary } = image;
  const repositories = [...new Set(summary.names.map((name) => familiarName(parseReference(name))))];
  const inspect: ImageInspect = {
    Id: image.configDigest,
    RepoTags: summary.names.map((name) => familiarString(parseReference(name))),
    RepoDigests: repositories.map((repository) => `${repository}@${summary.digest}`),
    Parent: "",
    Comment: config.comment ?? "",
    Created: config.created ?? ZERO_TIME,
    DockerVersion: (config as { docker_version?: string }).docker_version ?? "",
    Author: config.author ?? "",
    Config: config.config ?? null,
    Architecture: config.architecture,
    Os: config.os,
    Size: await imageSize(worker.store, image, await readLayerSizes(worker.store)),
    RootFS: { Type: config.rootfs.type, Layers: config.rootfs.diff_ids },
    Metadata: { LastTagTime: summary.names.length > 0 && summary.storedAt !== undefined ? summary.storedAt : ZERO_TIME },
  };
  if (config.variant !== undefined) inspect.Variant = config.variant;
  if (image.manifestDigest !== summary.digest) {
    const known = await readLayerSizes(worker.store);
    inspect.Manifests = [];
    for (const { platform, image: each } of await imagePlatforms(worker.store, summary.digest)) {
      inspect.Manifests.push({ Platform: platform, Digest: each.manifestDigest, Id: each.configDigest, Size: await imageSize(worker.store, each, known) });
    }
  }
  return inspect;
}
