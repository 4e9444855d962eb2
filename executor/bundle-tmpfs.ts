import { performMount, unmountBeneath } from "../snapshotter/mount-table.js";
import type { ExecProcess } from "./types.js";

/**
 * A run that holds secrets (a secret mount, or a secret in its environment, which the
 * runtime's config.json spells out) keeps its whole bundle on a tmpfs, as BuildKit serves
 * secrets: the secret files, the config and the runtime's log live in memory only and go
 * when it is unmounted, at the end of the run or, after a kill, by the next tsbuild's
 * reclaim (executor/reclaim-sandboxes.ts). Nothing of them ever reaches the root's disk.
 */
export function holdsSecrets(proc: ExecProcess): boolean {
  return (proc.secretEnv?.length ?? 0) > 0 || (proc.mounts ?? []).some((mount) => mount.type === "secret");
}

/** A cap, not an allocation: tmpfs takes memory only for what is written. */
const BUNDLE_TMPFS_BYTES = 64 * 1024 * 1024;

/** Mounts a private tmpfs on the (empty) bundle directory. noexec: nothing in a bundle is run. */
export async function mountBundleTmpfs(bundle: string): Promise<void> {
  await performMount({ type: "tmpfs", source: "tsbuild-secrets", options: ["nodev", "nosuid", "noexec", "mode=0700", `size=${BUNDLE_TMPFS_BYTES}`] }, bundle);
}

/** Takes the bundle's tmpfs down, and with it every secret byte. */
export async function unmountBundleTmpfs(bundle: string): Promise<void> {
  await unmountBeneath(bundle);
}
