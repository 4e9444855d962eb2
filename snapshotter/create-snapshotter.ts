import { mkdir, mkdtemp, rm, writeFile, readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { TsbuildError } from "../errors.js";
import { inUserNamespace } from "../util/id-mapping.js";
import { FuseOverlaySnapshotter, mountFuseProbe } from "./fuse-overlay-snapshotter.js";
import { NativeSnapshotter } from "./native-snapshotter.js";
import { OverlaySnapshotter } from "./overlay-snapshotter.js";
import { performMount, performUnmount } from "./mount-table.js";
import type { Snapshotter, SnapshotterName } from "./types.js";

export interface CreateSnapshotterOptions {
  /** Force an implementation instead of probing. */
  implementation?: SnapshotterName;
}

/**
 * The snapshotter for `root`: overlayfs when a tiny overlay can be mounted on the root's
 * file system (some file systems and unprivileged namespaces refuse it); in a user namespace
 * (rootless) fuse-overlayfs when only that mounts; else the copying native one.
 * `snapshotter.name` and `snapshotter.reason` tell which and why.
 */
export async function createSnapshotter(root: string, options: CreateSnapshotterOptions = {}): Promise<Snapshotter> {
  const snapshots = join(resolve(root), "snapshots");
  await mkdir(snapshots, { recursive: true });
  if (options.implementation === "native") return new NativeSnapshotter(root, "forced by option");
  if (options.implementation === "fuse-overlayfs") return new FuseOverlaySnapshotter(root, "forced by option");
  // In a user namespace (rootless) "overlayfs" means either overlay: the layout is the same.
  if (options.implementation === "overlayfs" && !inUserNamespace()) return new OverlaySnapshotter(root, "forced by option");
  const probe = await probeOverlay(snapshots);
  if (probe.ok) return new OverlaySnapshotter(root, options.implementation === "overlayfs" ? "forced by option" : "overlayfs mounts on this root");
  const fuse = inUserNamespace() ? await probeOverlay(snapshots, mountFuseProbe) : undefined;
  if (fuse?.ok === true) return new FuseOverlaySnapshotter(root, `the kernel's overlayfs cannot be mounted in this user namespace: ${probe.error}`);
  if (options.implementation === "overlayfs") {
    throw new TsbuildError("SYSTEM", `Cannot mount the overlay snapshots of "${root}": ${fuse?.error ?? probe.error}`, {
      hint: "Install fuse-overlayfs and make /dev/fuse usable (mode 0666), or use another root",
    });
  }
  const why = fuse === undefined ? probe.error : `${probe.error}; fuse-overlayfs: ${fuse.error}`;
  return new NativeSnapshotter(root, `overlayfs cannot be mounted here: ${why}`);
}

/**
 * Mounts a two-layer overlay in a temporary directory under `dir` and reads through it: the
 * kernel's, or what `mountMerged` mounts at `merged` over `lower`, `upper` and `work`.
 */
export async function probeOverlay(dir: string, mountMerged = mountKernelProbe): Promise<{ ok: true } | { ok: false; error: string }> {
  const probe = await mkdtemp(join(dir, ".probe-"));
  let mounted = false;
  try {
    for (const name of ["lower", "upper", "work", "merged"]) await mkdir(join(probe, name));
    await writeFile(join(probe, "lower", "probe"), "ok");
    await mountMerged(probe);
    mounted = true;
    const text = await readFile(join(probe, "merged", "probe"), "utf8");
    return text === "ok" ? { ok: true } : { ok: false, error: "files of the lower layer are not visible" };
  } catch (error) {
    return { ok: false, error: (error instanceof Error ? error.message : String(error)).split("\n")[0] };
  } finally {
    if (mounted) await performUnmount(join(probe, "merged")).catch(() => undefined); // best effort: the probe has its answer; a mount that stays makes the rm below fail loudly
    await rm(probe, { recursive: true, force: true });
  }
}

async function mountKernelProbe(dir: string): Promise<void> {
  const options = ["lowerdir=lower", "upperdir=upper", "workdir=work", ...(inUserNamespace() ? ["userxattr"] : [])];
  await performMount({ type: "overlay", source: "overlay", options }, join(dir, "merged"), { cwd: dir });
}
