import { mkdir, mkdtemp, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { TsbuildError } from "../errors.js";
import type { SnapshotChain } from "./base-snapshotter.js";
import { performMount } from "./mount-table.js";
import { OverlaySnapshotter } from "./overlay-snapshotter.js";
import { runCommand } from "./run-command.js";
import type { Mount } from "./types.js";
import { warmCommandServer } from "../util/command-server.js";

/**
 * Overlay snapshots mounted by fuse-overlayfs, for a rootless tsbuild on a kernel whose
 * overlayfs will not mount in a user namespace (before 5.11, or a file system that refuses
 * it). The snapshots on disk are the overlay snapshotter's (an upper `fs` and a `work` per
 * layer, whiteouts as 0/0 devices, opaque directories by xattr), so a root moves between the
 * two freely; only the mounts differ:
 *
 * - fuse-overlayfs always needs an upper directory, so a read-only mount (a view, the lower
 *   layers an applied layer looks into) gets an empty one in a `fuse-*` directory of the
 *   snapshot being mounted, with the mount itself read-only;
 * - `allow_other`: a FUSE mount serves only the user who made it unless told otherwise, and
 *   a RUN step as `USER 1000` is another user than the namespace's root.
 *
 * Unmounting is umount(8), as for the kernel's overlay: root in the namespace may unmount
 * what it mounted there, and fuse-overlayfs ends with its mount.
 */
export class FuseOverlaySnapshotter extends OverlaySnapshotter {
  override readonly name = "fuse-overlayfs" as const;

  /** fuse-overlayfs runs through the command shell. */
  protected override warmMounting(): void {
    warmCommandServer();
  }

  protected override async performOverlayMount(mount: Mount, target: string, options: { cwd: string; scratch: string }): Promise<void> {
    if (mount.type !== "overlay") return performMount(mount, target, { cwd: options.cwd });
    const fuseOptions = mount.options.filter((option) => FUSE_KEEPS.test(option));
    if (!fuseOptions.some((option) => option.startsWith("upperdir="))) {
      const scratch = await mkdtemp(join(options.scratch, "fuse-"));
      await mkdir(join(scratch, "upper"));
      await mkdir(join(scratch, "work"));
      fuseOptions.push(`upperdir=${join(scratch, "upper")}`, `workdir=${join(scratch, "work")}`, "ro");
    }
    // fuse-overlayfs daemonises once mounted; its own working directory is the one we give it.
    await runCommand("fuse-overlayfs", ["-o", [...fuseOptions, "allow_other"].join(","), target], { cwd: options.cwd }).catch(explainMissing);
  }

  protected override async applyInto(id: number, ancestors: SnapshotChain["ancestors"], layer: Readable) {
    try {
      return await super.applyInto(id, ancestors, layer);
    } finally {
      // The empty upper of the lower layers' mount is no part of the new layer.
      for (const name of await readdir(this.dirOf(id)).catch(() => [] as string[])) {
        if (name.startsWith("fuse-")) await rm(join(this.dirOf(id), name), { recursive: true, force: true });
      }
    }
  }
}

/** The options fuse-overlayfs takes: its directories; the kernel-only ones (index, userxattr ...) are not its. */
const FUSE_KEEPS = /^(lowerdir|upperdir|workdir)=/;

function explainMissing(error: unknown): never {
  if (error instanceof TsbuildError && error.message.includes("program not found")) {
    throw new TsbuildError("SYSTEM", "Cannot mount a snapshot: fuse-overlayfs is not installed", { cause: error, hint: "apt-get install fuse-overlayfs" });
  }
  throw error;
}

/** Mounts `lower` + `upper` at `merged` in `dir` with fuse-overlayfs (for `probeOverlay`). */
export async function mountFuseProbe(dir: string): Promise<void> {
  await runCommand("fuse-overlayfs", ["-o", "lowerdir=lower,upperdir=upper,workdir=work,allow_other", "merged"], { cwd: dir }).catch(explainMissing);
}
