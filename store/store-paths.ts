import { join } from "node:path";
import { digestHex, type Digest } from "../oci/digest.js";

/** Where everything lives under a store root (see store/README.md). */
export interface StorePaths {
  root: string;
  /** An OCI image layout: oci-layout, index.json, blobs/. */
  content: string;
  blobs: string;
  ingest: string;
  ociLayout: string;
  indexJson: string;
  /** Owned by the snapshotter. */
  snapshots: string;
  metadata: string;
  refs: string;
  locks: string;
  /** The lock every metadata change and every garbage collection takes. */
  storeLock: string;
  containers: string;
  volumes: string;
}

/** The paths of a store rooted at `root`. */
export function storePaths(root: string): StorePaths {
  const content = join(root, "content");
  const metadata = join(root, "metadata");
  const locks = join(metadata, "locks");
  return {
    root,
    content,
    blobs: join(content, "blobs", "sha256"),
    ingest: join(content, "ingest"),
    ociLayout: join(content, "oci-layout"),
    indexJson: join(content, "index.json"),
    snapshots: join(root, "snapshots"),
    metadata,
    refs: join(metadata, "refs"),
    locks,
    storeLock: join(locks, "store.lock"),
    containers: join(root, "containers"),
    volumes: join(root, "volumes"),
  };
}

/** The file of one blob. */
export function blobPath(paths: StorePaths, digest: Digest): string {
  return join(paths.blobs, digestHex(digest));
}
