import { TsbuildError } from "../../errors.js";
import type { SnapshotterName } from "../../snapshotter/types.js";
import { openWorker, type Worker } from "../../worker/worker.js";
import type { CommandContext, OptionSpec } from "../command.js";

/** The `--root` flag every image command takes. */
export const ROOT_OPTION: OptionSpec = {
  name: "root",
  type: "string",
  valueName: "DIR",
  description: "The store root (default $TSBUILD_ROOT, else /var/lib/tsbuild as root)",
};

/**
 * Opens the worker for a command: `--root`, else $TSBUILD_ROOT ...; $TSBUILD_SNAPSHOTTER
 * (overlayfs, fuse-overlayfs or native) skips the overlayfs probe.
 */
export async function openCommandWorker(context: CommandContext): Promise<Worker> {
  const snapshotter = context.env.TSBUILD_SNAPSHOTTER;
  const known: readonly string[] = ["overlayfs", "fuse-overlayfs", "native"] satisfies SnapshotterName[];
  if (snapshotter !== undefined && snapshotter !== "" && !known.includes(snapshotter)) {
    throw new TsbuildError("USAGE", `Unknown snapshotter "${snapshotter}" in TSBUILD_SNAPSHOTTER`, { hint: "Use overlayfs, fuse-overlayfs or native" });
  }
  return openWorker({
    env: context.env,
    ...(typeof context.options.root === "string" ? { root: context.options.root } : {}),
    ...(snapshotter !== undefined && known.includes(snapshotter) ? { snapshotter: snapshotter as SnapshotterName } : {}),
  });
}
