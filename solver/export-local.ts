import { execFile } from "node:child_process";
import { mkdir } from "node:fs/promises";
import { promisify } from "node:util";
import type { BuildGraph } from "../frontend/graph.js";
import type { Digest } from "../oci/digest.js";
import { TsbuildError } from "../errors.js";
import type { CacheIndex } from "./cache-index.js";
import { SnapshotMounts } from "./snapshot-mounts.js";
import type { Worker } from "./types.js";

const execFileAsync = promisify(execFile);

export interface ExportLocalOptions {
  worker: Worker;
  cache: CacheIndex;
  keys: ReadonlyMap<string, Digest>;
  /** The snapshot each solved vertex gave this build. */
  snapshots?: ReadonlyMap<string, string>;
}

/**
 * `--output type=local,dest=DIR`: the output's file system copied into `dest` (created if
 * missing), owners, modes, links and times kept, from a read-only view of its snapshot.
 */
export async function exportLocal(graph: BuildGraph, dest: string, options: ExportLocalOptions): Promise<void> {
  const { worker } = options;
  await mkdir(dest, { recursive: true });
  const output = graph.vertices.find((vertex) => vertex.id === graph.output)!;
  let snapshot: string | undefined;
  if (output.definition.op === "source") {
    if (output.definition.kind === "image") snapshot = (await worker.images.unpack(output.definition.ref, {})).top;
    else if (output.definition.kind !== "scratch") throw new TsbuildError("USAGE", `Cannot export "${output.name}" to a directory`);
  } else {
    const key = options.keys.get(output.id);
    snapshot = options.snapshots?.get(output.id) ?? (key === undefined ? undefined : (await options.cache.lookup(key))?.snapshot);
    if (snapshot === undefined) throw new TsbuildError("INTERNAL", `Step ${output.name} has no snapshot to export`);
  }
  if (snapshot === undefined) return; // scratch: an empty directory
  const mounts = new SnapshotMounts(worker.snapshotter, worker.tempDir);
  try {
    const root = await mounts.view(snapshot);
    await execFileAsync("cp", ["-a", "--reflink=auto", "--", `${root}/.`, dest]);
  } finally {
    await mounts.release();
  }
}
