import { TsbuildError } from "../errors.js";
import { overlayFlavour } from "./rootless-overlay.js";

/**
 * mount(2) copies its option string into one page, so `lowerdir=...` plus everything else
 * must fit in 4096 bytes including the final NUL. Snapshot directories are short numbers
 * and the snapshotter mounts with its snapshots directory as working directory, naming
 * layers relatively (`12/fs`), so even deep chains stay far below the limit.
 */
export const MOUNT_OPTIONS_LIMIT = 4096;

/**
 * Options that keep the upper directory a plain changeset: no redirect or metacopy xattrs
 * (which a layer tar cannot express) and no inode index tying an upper to its lowers; in a
 * user namespace also `userxattr` (see rootless-overlay.ts).
 */
const FIXED_OPTIONS = overlayFlavour().options;

export interface OverlayLayout {
  /** Lower layer directories, topmost first. */
  lowers: string[];
  /** Upper and work directories for a writable mount. */
  upper?: string;
  work?: string;
}

/** The option list of an overlay mount; with `check`, throws SYSTEM when it would not fit in a page. */
export function overlayOptions(layout: OverlayLayout, check = true): string[] {
  const options = [`lowerdir=${layout.lowers.join(":")}`];
  if (layout.upper !== undefined && layout.work !== undefined) {
    options.push(`upperdir=${layout.upper}`, `workdir=${layout.work}`);
  } else {
    options.push("ro");
  }
  options.push(...FIXED_OPTIONS);
  if (check) checkOptionsLength(options, layout.lowers.length);
  return options;
}

/** Throws when `options` joined with commas, plus the NUL, exceed one page. */
export function checkOptionsLength(options: string[], layers: number): void {
  const length = Buffer.byteLength(options.join(",")) + 1;
  if (length > MOUNT_OPTIONS_LIMIT) {
    throw new TsbuildError(
      "SYSTEM",
      `Cannot mount a chain of ${layers} layers: the overlay options take ${length} bytes, more than the kernel's limit of ${MOUNT_OPTIONS_LIMIT} bytes (one page)`,
      { hint: "Squash some layers of the image, or use a shorter root directory" },
    );
  }
}

/** Overlay needs at least two lower layers when there is no upper layer. */
export function canMountReadOnlyOverlay(lowerCount: number): boolean {
  return lowerCount >= 2;
}

/** Escapes `:` `,` and `\` in a lower directory path, as overlayfs reads them. */
export function escapeOverlayPath(path: string): string {
  return path.replace(/[\\:,]/g, (c) => `\\${c}`);
}
