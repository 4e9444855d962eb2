/** The OCI image-spec media types tsbuild reads and writes. */
export const OCI_MEDIA_TYPES = {
  index: "application/vnd.oci.image.index.v1+json",
  manifest: "application/vnd.oci.image.manifest.v1+json",
  config: "application/vnd.oci.image.config.v1+json",
  layer: "application/vnd.oci.image.layer.v1.tar",
  layerGzip: "application/vnd.oci.image.layer.v1.tar+gzip",
  layerZstd: "application/vnd.oci.image.layer.v1.tar+zstd",
  layout: "application/vnd.oci.layout.header.v1+json",
  emptyJson: "application/vnd.oci.empty.v1+json",
} as const;

/** Docker's schema 2 media types, which registries and `docker save` still use. */
export const DOCKER_MEDIA_TYPES = {
  manifestList: "application/vnd.docker.distribution.manifest.list.v2+json",
  manifest: "application/vnd.docker.distribution.manifest.v2+json",
  config: "application/vnd.docker.container.image.v1+json",
  layerGzip: "application/vnd.docker.image.rootfs.diff.tar.gzip",
  foreignLayerGzip: "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
} as const;

/** True for an image index or a docker manifest list (a list of manifests). */
export function isIndexMediaType(mediaType: string | undefined): boolean {
  return mediaType === OCI_MEDIA_TYPES.index || mediaType === DOCKER_MEDIA_TYPES.manifestList;
}

/** True for a single-platform image manifest, OCI or docker. */
export function isManifestMediaType(mediaType: string | undefined): boolean {
  return mediaType === OCI_MEDIA_TYPES.manifest || mediaType === DOCKER_MEDIA_TYPES.manifest;
}

/** True for an image config, OCI or docker. */
export function isConfigMediaType(mediaType: string | undefined): boolean {
  return mediaType === OCI_MEDIA_TYPES.config || mediaType === DOCKER_MEDIA_TYPES.config;
}

/** True for a layer (any compression), OCI or docker, including non-distributable ones. */
export function isLayerMediaType(mediaType: string | undefined): boolean {
  if (mediaType === undefined) return false;
  return (
    mediaType.startsWith("application/vnd.oci.image.layer.") ||
    mediaType.startsWith("application/vnd.docker.image.rootfs.")
  );
}

/** The compression a layer media type names. */
export function layerCompression(mediaType: string): "none" | "gzip" | "zstd" {
  if (mediaType.endsWith("+gzip") || mediaType.endsWith(".tar.gzip")) return "gzip";
  if (mediaType.endsWith("+zstd")) return "zstd";
  return "none";
}
