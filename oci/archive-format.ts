import { digestHex, type Digest } from "./digest.js";

/**
 * The two image archive formats: `docker` is what `docker save` writes and `docker load`
 * reads (a `manifest.json` naming config and layer members); `oci` is a tar of an OCI
 * image layout (`oci-layout`, `index.json`, `blobs/`), as skopeo's `oci-archive:` reads it.
 */
export type ArchiveFormat = "docker" | "oci";

/** The member names both formats give meaning to. */
export const ARCHIVE_MEMBERS = {
  /** Docker's list of images: `[{ Config, RepoTags, Layers }]`. */
  dockerManifest: "manifest.json",
  /** Docker's legacy `{ repository: { tag: layerId } }` map, read only by very old docker. */
  repositories: "repositories",
  /** The OCI layout marker, `{"imageLayoutVersion":"1.0.0"}`. */
  ociLayout: "oci-layout",
  /** The OCI layout's entry point, an image index. */
  index: "index.json",
} as const;

/** The content of the `oci-layout` member tsbuild writes. */
export const OCI_LAYOUT_VERSION = "1.0.0";

/**
 * The annotation containerd (and docker 25+ `docker save`) put on index.json entries with
 * the full image name; `org.opencontainers.image.ref.name` then holds only the tag, or a
 * full name, depending on the writer.
 */
export const CONTAINERD_IMAGE_NAME_ANNOTATION = "io.containerd.image.name";

/** The member name of a blob in an OCI layout: `blobs/sha256/<hex>`. */
export function blobMemberName(digest: Digest): string {
  return `blobs/sha256/${digestHex(digest)}`;
}

/** The digest a member name states, when it is `blobs/sha256/<hex>`; otherwise undefined. */
export function digestOfBlobMember(name: string): Digest | undefined {
  const match = /^blobs\/sha256\/([0-9a-f]{64})$/.exec(name);
  return match === null ? undefined : `sha256:${match[1]}`;
}
