import type { Digest } from "../oci/digest.js";
import { layerSizes } from "./image-size.js";
import { readLayerSizes } from "./layer-sizes.js";
import { resolveImage } from "./resolve-image.js";
import type { Worker } from "./worker.js";

/** One row of `history`, newest first. */
export interface HistoryRow {
  /** The image id on the newest row; undefined (docker's `<missing>`) on the others. */
  id?: Digest;
  created?: string;
  createdBy: string;
  /** The layer's size, 0 for an entry that made no layer. */
  size: number;
  comment: string;
  emptyLayer: boolean;
}

/** docker's `history`: the config's history entries, newest first, each with its layer's size. */
export async function imageHistory(worker: Worker, reference: string): Promise<HistoryRow[]> {
  const image = await resolveImage(worker.store, reference);
  const sizes = await layerSizes(worker.store, image, await readLayerSizes(worker.store));
  const rows: HistoryRow[] = [];
  let layer = 0;
  for (const entry of image.config.history ?? []) {
    const empty = entry.empty_layer === true;
    const row: HistoryRow = {
      createdBy: entry.created_by ?? "",
      size: empty ? 0 : (sizes[layer] ?? 0),
      comment: entry.comment ?? "",
      emptyLayer: empty,
    };
    if (entry.created !== undefined) row.created = entry.created;
    if (!empty) layer++;
    rows.push(row);
  }
  rows.reverse();
  if (rows.length > 0) rows[0].id = image.configDigest;
  return rows;
}
