import { createReadStream } from "node:fs";
import type { Readable } from "node:stream";
import { TsbuildError } from "../errors.js";
import { LayerReader } from "../oci/layer-reader.js";
import { LayerApplier } from "./apply-layer.js";

export interface ExtractArchiveOptions {
  /** `ADD --chown`: the owner of every extracted entry; default the archive's own. */
  owner?: { uid: number; gid: number };
  signal?: AbortSignal;
}

/**
 * Unpacks a tar archive (a file or a stream; plain, gzip, bzip2, xz or zstd) into `target`, as ADD does: with
 * the layer reader and applier that apply image layers, in their archive mode, which follows
 * docker's untar chrooted in the destination. Paths lose a leading `/`, `..` stops at
 * `target`, symlinks are kept as written (`var/run -> /run`, `a -> ../b`), and whatever is
 * written through one is resolved with `target` as the root, never outside it. Errors are
 * INVALID_ARCHIVE with the entry that caused them; what was written stays for the caller
 * to discard (it is a build step's scratch snapshot).
 */
export async function extractArchive(source: string | Readable, target: string, options: ExtractArchiveOptions = {}): Promise<{ entries: number }> {
  const applier = new LayerApplier(target, { overlay: false, extract: { owner: options.owner } });
  const input = typeof source === "string" ? createReadStream(source) : source;
  const reader = new LayerReader(input, { compressions: "any", paths: "chroot" });
  let entries = 0;
  for await (const entry of reader.entries()) {
    if (options.signal?.aborted) throw new TsbuildError("CANCELLED", "The build was cancelled");
    entries++;
    await applier.apply(entry);
  }
  await applier.finish();
  return { entries };
}
