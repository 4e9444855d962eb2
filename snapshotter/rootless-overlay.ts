import { inUserNamespace } from "../util/id-mapping.js";

/**
 * overlayfs in a user namespace (a rootless tsbuild's, kernel 5.11 and later) differs in two
 * ways. Its private xattrs live in `user.overlay.*` (the `userxattr` option), since only the
 * initial namespace's root may write `trusted.*`; so an opaque directory is marked with
 * `user.overlay.opaque`, in the layers we apply as in the uppers the kernel writes. And
 * `userxattr` refuses to follow redirects, which `redirect_dir=off` still does on 6.x
 * kernels, so `nofollow` says what we mean: redirects are neither made nor followed (a layer
 * tar cannot express them). fuse-overlayfs, the fallback, marks opaque directories with
 * `user.fuseoverlayfs.opaque` and reads all three names.
 *
 * A root is used in one kind of namespace only (worker/root-id-mapping.ts), so the names
 * its layers carry never change under it.
 */

export interface OverlayFlavour {
  /** The options every overlay mount takes besides its directories. */
  options: readonly string[];
  /** The xattr that marks an opaque directory in layers we write. */
  opaqueXattr: string;
  /** Every xattr that may mark one in an upper directory we read. */
  opaqueXattrs: readonly string[];
}

const INITIAL: OverlayFlavour = {
  options: ["index=off", "redirect_dir=off", "metacopy=off"],
  opaqueXattr: "trusted.overlay.opaque",
  opaqueXattrs: ["trusted.overlay.opaque"],
};

const USER_NAMESPACE: OverlayFlavour = {
  options: ["userxattr", "index=off", "redirect_dir=nofollow", "metacopy=off"],
  opaqueXattr: "user.overlay.opaque",
  opaqueXattrs: ["user.overlay.opaque", "user.fuseoverlayfs.opaque"],
};

/** The flavour for this process: the initial user namespace's, or a user namespace's. */
export function overlayFlavour(userNamespace = inUserNamespace()): OverlayFlavour {
  return userNamespace ? USER_NAMESPACE : INITIAL;
}
