import { PassThrough } from "node:stream";
import { TsbuildError } from "../errors.js";
import { settleAll } from "../util/settle-all.js";
import { recordLayerSize } from "../worker/layer-sizes.js";
import type { LayerRecord, Worker } from "./types.js";

/** A tar of no entries: two zero blocks. A step that changed nothing diffs to this. */
const EMPTY_TAR_SIZE = 1024;

/**
 * The layer of committed snapshot `snapshot`: its changes against its parent, written as a
 * gzip blob straight into the content store (no temp file), with its uncompressed size
 * noted for `images`.
 */
export async function diffLayer(worker: Worker, snapshot: string, options: { epoch?: number }): Promise<LayerRecord> {
  const pass = new PassThrough();
  const [written, blob] = await settleAll([worker.snapshotter.diff(snapshot, pass, { sourceDateEpoch: options.epoch ?? null }), worker.store.content.write(pass)], (error) =>
    pass.destroy(error instanceof Error ? error : new Error(String(error))),
  );
  if (blob.digest !== written.digest) throw new TsbuildError("INTERNAL", `Layer of snapshot "${snapshot}" was stored as "${blob.digest}", written as "${written.digest}"`);
  await recordLayerSize(worker.store, { diffId: written.diffId, size: written.uncompressedSize });
  return {
    diffId: written.diffId,
    descriptor: { mediaType: written.mediaType, digest: written.digest, size: written.size },
    empty: written.uncompressedSize <= EMPTY_TAR_SIZE,
    ...(options.epoch === undefined ? {} : { epoch: options.epoch }),
  };
}
