import { utimes } from "node:fs/promises";
import type { ContentStore } from "../../store/content-store.js";
import type { Digest } from "../../oci/digest.js";

/**
 * Moves a blob's mtime an hour back, so that "written before the lease" does not depend on the
 * file clock having ticked between the write and the lease (it ticks only every few ms).
 */
export async function backdateBlob(content: ContentStore, digest: Digest): Promise<void> {
  const past = new Date(Date.now() - 3_600_000);
  await utimes(content.path(digest), past, past);
}
