/**
 * Whiteout names of the OCI layer changeset format (image-spec "layer.md"): a file named
 * `.wh.<name>` deletes `<name>` from the layers below, and `.wh..wh..opq` in a directory
 * hides everything the layers below put in that directory.
 */

export const WHITEOUT_PREFIX = ".wh.";
export const OPAQUE_WHITEOUT = ".wh..wh..opq";
/** aufs bookkeeping names (`.wh..wh.plnk`, `.wh..wh.aufs`) that docker skips when applying. */
const AUFS_META_PREFIX = ".wh..wh.";

/** What a layer entry's base name means. */
export type WhiteoutKind =
  | { kind: "opaque" }
  | { kind: "whiteout"; name: string }
  | { kind: "meta" }
  | { kind: "none" };

/** Classifies the last path component of a layer entry. */
export function classifyWhiteout(baseName: string): WhiteoutKind {
  if (baseName === OPAQUE_WHITEOUT) return { kind: "opaque" };
  if (baseName.startsWith(AUFS_META_PREFIX)) return { kind: "meta" };
  if (baseName.startsWith(WHITEOUT_PREFIX)) return { kind: "whiteout", name: baseName.slice(WHITEOUT_PREFIX.length) };
  return { kind: "none" };
}

/** The whiteout entry name that deletes `baseName`. */
export function whiteoutName(baseName: string): string {
  return WHITEOUT_PREFIX + baseName;
}
