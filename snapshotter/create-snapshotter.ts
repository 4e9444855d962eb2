import { mkdir, mkdtemp, rm, writeFile, readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
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
 * file system (some file systems and unprivileged namespaces refuse it), else the copying
 * native one. `snapshotter.name` and `snapshotter.reason` tell which and why.
 */
export async function createSnapshotter(root: string, options: CreateSnapshotterOptions = {}): Promise<Snapshotter> {
  const snapshots = join(resolve(root), "snapshots");
  await mkdir(snapshots, { recursive: true });
  if (options.implementation === "native") return new NativeSnapshotter(root, "forced by option");
  if (options.implementation === "overlayfs") return new OverlaySnapshotter(root, "forced by option");
  const probe = await probeOverlay(snapshots);
  return probe.ok
    ? new OverlaySnapshotter(root, "overlayfs mounts on this root")
    : new NativeSnapshotter(root, `overlayfs cannot be mounted here: ${probe.error}`);
}

/** Mounts a two-layer overlay in a temporary directory under `dir` and reads through it. */
export async function probeOverlay(dir: string): Promise<{ ok: true } | { ok: false; error: string }> {
  const probe = await mkdtemp(join(dir, ".probe-"));
  let mounted = false;
  try {
    for (const name of ["lower", "upper", "work", "merged"]) await mkdir(join(probe, name));
    await writeFile(join(probe, "lower", "probe"), "ok");
    await performMount(
      { type: "overlay", source: "overlay", options: ["lowerdir=lower", "upperdir=upper", "workdir=work"] },
      join(probe, "merged"),
      { cwd: probe },
    );
    mounted = true;
    const text = await readFile(join(probe, "merged", "probe"), "utf8");
    return text === "ok" ? { ok: true } : { ok: false, error: "files of the lower layer are not visible" };
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message : String(error) };
  } finally {
    if (mounted) await performUnmount(join(probe, "merged")).catch(() => undefined); // best effort: the probe has its answer; a mount that stays makes the rm below fail loudly
    await rm(probe, { recursive: true, force: true });
  }
}
