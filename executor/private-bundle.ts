import { encodeTarHeader, endOfArchive, paddingFor } from "../oci/layer-tar-header.js";
import type { ExecProcess } from "./types.js";

/**
 * Secrets as BuildKit serves them, and then some: a run that holds secrets (a secret mount,
 * or a secret in its environment, which config.json spells out) gets its config and secret
 * files on a tmpfs that exists only in a private mount namespace made for its runtime. The
 * bytes never reach a disk, and no other process on the host (a later tsbuild, a backup, a
 * `grep -r` of the root) can find them under the root, not even after tsbuild is SIGKILLed
 * mid-RUN: the tmpfs lives exactly as long as the runtime and its container.
 *
 * The runtime is started as `unshare --mount sh -c '<mount a tmpfs on DIR; untar stdin into
 * it; exec the runtime>'`, and the files arrive on its stdin as a tar, so they are written
 * inside the namespace only.
 */

/** A file of the private bundle: the runtime's config.json or a secret. */
export interface PrivateFile {
  /** A plain name inside the private directory. */
  name: string;
  data: Buffer;
  uid: number;
  gid: number;
  mode: number;
}

/** True when a run must keep its bundle private: it mounts a secret or has one in its environment. */
export function holdsSecrets(proc: ExecProcess): boolean {
  return (proc.secretEnv?.length ?? 0) > 0 || (proc.mounts ?? []).some((mount) => mount.type === "secret");
}

/** A cap, not an allocation: tmpfs takes memory only for what is written. */
const TMPFS_BYTES = 64 * 1024 * 1024;

/** Exit status of the wrapper when the tmpfs cannot be set up (the runtime never ran). */
export const PRIVATE_BUNDLE_FAILED = 125;

/**
 * Wraps the runtime's command line: in a new mount namespace, a tmpfs on `dir`, the tar on
 * stdin unpacked into it (owners and modes kept), then the runtime with stdin from /dev/null.
 */
export function privateBundleCommand(command: { file: string; args: string[] }, dir: string): { file: string; args: string[] } {
  const script =
    `mount -t tmpfs -o nodev,nosuid,noexec,mode=0700,size=${TMPFS_BYTES} tsbuild-secrets "$1" && tar -x -p --same-owner -C "$1" || ` +
    `{ echo "tsbuild: cannot set up the private bundle in $1" >&2; exit ${PRIVATE_BUNDLE_FAILED}; }; shift; exec "$@" </dev/null`;
  return { file: "unshare", args: ["--mount", "--propagation", "private", "sh", "-c", script, "sh", dir, command.file, ...command.args] };
}

/** The files as a tar stream for the wrapper's stdin. */
export function packPrivateFiles(files: readonly PrivateFile[]): Buffer {
  const parts: Buffer[] = [];
  for (const file of files) {
    parts.push(
      encodeTarHeader({ path: file.name, type: "file", mode: file.mode, uid: file.uid, gid: file.gid, size: file.data.length, mtime: 0, linkpath: "", devmajor: 0, devminor: 0, xattrs: new Map() }),
      file.data,
      paddingFor(file.data.length),
    );
  }
  parts.push(endOfArchive());
  return Buffer.concat(parts);
}
