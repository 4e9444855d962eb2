import { readFileSync } from "node:fs";
import { TsbuildError } from "../errors.js";
import { createImageIndex, parseImageIndex, type Descriptor, type ImageIndex } from "../oci/image-types.js";
import { writeFileAtomic } from "./atomic-file.js";
import type { StorePaths } from "./store-paths.js";
import { readTextIfExists } from "../util/stat-if-exists.js";

/** The content of the `oci-layout` file (OCI image-spec, image layout). */
export const OCI_LAYOUT_VERSION = { imageLayoutVersion: "1.0.0" } as const;

/**
 * Reads `<root>/content/index.json`, the OCI layout's index and tsbuild's image records
 * in one. A missing file is an empty index.
 */
export async function readLayoutIndex(paths: StorePaths): Promise<ImageIndex> {
  let text: string;
  try {
    // Synchronously: a small file, read before every build's first step and at its export.
    text = readFileSync(paths.indexJson, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return createImageIndex([]);
    throw error;
  }
  try {
    return parseImageIndex(text, `image index "${paths.indexJson}"`);
  } catch (error) {
    throw new TsbuildError("INTERNAL", (error as Error).message, {
      cause: error,
      hint: "index.json is only ever replaced atomically; restore it from a backup or remove it and re-tag the images",
    });
  }
}

/** Replaces index.json atomically (readers see the old or the new file, never a mix). */
export async function writeLayoutIndex(paths: StorePaths, manifests: Descriptor[]): Promise<void> {
  const index = createImageIndex(manifests);
  await writeFileAtomic(paths.indexJson, `${JSON.stringify(index, null, 2)}\n`);
}

/** Writes `oci-layout` and an empty index.json when they are missing. */
export async function ensureLayoutFiles(paths: StorePaths): Promise<void> {
  const layout = await readTextIfExists(paths.ociLayout);
  if (layout === undefined || !isLayoutFile(layout)) {
    await writeFileAtomic(paths.ociLayout, JSON.stringify(OCI_LAYOUT_VERSION));
  }
  const index = await readTextIfExists(paths.indexJson);
  if (index === undefined) await writeLayoutIndex(paths, []);
}

function isLayoutFile(text: string): boolean {
  try {
    return typeof (JSON.parse(text) as { imageLayoutVersion?: unknown }).imageLayoutVersion === "string";
  } catch {
    return false;
  }
}
