import type { Digest } from "../oci/digest.js";
import { createDescriptor, createImageManifest, serializeJson, type Descriptor, type ImageConfig } from "../oci/image-types.js";
import { OCI_MEDIA_TYPES } from "../oci/media-types.js";
import { normalizeReference } from "../oci/reference.js";
import type { Store } from "../store/store.js";

/** An image written by `writeImage`. */
export interface WrittenImage {
  /** The image id: the config's digest. */
  id: Digest;
  manifestDigest: Digest;
  /** The full name it was tagged with, when one was given. */
  name?: string;
}

/**
 * Writes a config and an OCI manifest over layers already in the store, then names the
 * image (or records it nameless, a dangling image): the last step, so that a crash before
 * it leaves only unreferenced blobs for garbage collection.
 */
export async function writeImage(store: Store, options: { config: ImageConfig; layers: Descriptor[]; name?: string; record?: boolean }): Promise<WrittenImage> {
  const { config } = options;
  const configBytes = serializeJson(config);
  const configDescriptor = createDescriptor(OCI_MEDIA_TYPES.config, configBytes);
  const manifestBytes = serializeJson(createImageManifest(configDescriptor, options.layers));
  const manifestDescriptor = createDescriptor(OCI_MEDIA_TYPES.manifest, manifestBytes);
  // Side by side (each is synced on its own; both have settled before a failure goes on):
  // nothing names either before both are in.
  const blobs = await Promise.allSettled([
    store.content.write(configBytes, { digest: configDescriptor.digest, size: configDescriptor.size }),
    store.content.write(manifestBytes, { digest: manifestDescriptor.digest, size: manifestDescriptor.size }),
  ]);
  for (const blob of blobs) if (blob.status === "rejected") throw blob.reason;
  const written: WrittenImage = { id: configDescriptor.digest, manifestDigest: manifestDescriptor.digest };
  if (options.record === false) {
    // Recorded by the caller (an index over it); until then its lease holds it.
  } else if (options.name !== undefined) {
    written.name = (await store.images.tag(options.name, manifestDescriptor.digest)).name;
  } else {
    await store.images.keep(manifestDescriptor.digest);
  }
  return written;
}

/** Checks a name before any work is done, so a typo fails fast; returns it normalised. */
export function checkImageName(name: string): string {
  return normalizeReference(name);
}
