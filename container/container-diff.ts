import { randomBytes } from "node:crypto";
import { lstat, mkdir, rm } from "node:fs/promises";
import { join, posix } from "node:path";
import { PassThrough } from "node:stream";
import { resolveInRoot } from "../executor/resolve-in-root.js";
import { LayerReader } from "../oci/layer-reader.js";
import { OPAQUE_WHITEOUT, WHITEOUT_PREFIX } from "../oci/whiteout.js";
import { ownedByThisProcess } from "../snapshotter/reclaim-snapshots.js";
import { makeStagingDir } from "../worker/staging-dir.js";
import type { Worker } from "../worker/worker.js";
import { findContainer } from "./container-record.js";
import { compareStrings } from "../util/compare-strings.js";

/** One line of docker's `diff`: A added, C changed, D deleted. */
export interface ContainerChange {
  kind: "A" | "C" | "D";
  path: string;
}

/**
 * docker's `diff`: the changes of the container's writable layer against its image, read
 * from the same layer `commit` would write, so both always agree. A path present in the
 * image (looked up in a read-only view of the init layer) is C, else A; whiteouts are D.
 */
export async function containerDiff(worker: Worker, text: string): Promise<ContainerChange[]> {
  const record = await findContainer(worker, text);
  const snapshotter = await worker.snapshotter();
  const entries: Array<{ path: string; deleted: boolean }> = [];
  const stream = new PassThrough();
  const parsed = (async () => {
    for await (const entry of new LayerReader(stream).entries()) {
      const name = posix.basename(entry.path);
      if (entry.path === "" || name === OPAQUE_WHITEOUT) {
        // the root, or an opaque marker: the directory itself is listed as its own entry
      } else if (name.startsWith(WHITEOUT_PREFIX)) {
        entries.push({ path: `/${posix.join(posix.dirname(entry.path), name.slice(WHITEOUT_PREFIX.length))}`.replace(/^\/\.\//, "/"), deleted: true });
      } else {
        entries.push({ path: `/${entry.path}`, deleted: false });
      }
    }
  })().catch((error: unknown) => {
    stream.destroy(); // so that the diff writer is not left waiting on a full stream
    throw error;
  });
  await Promise.all([snapshotter.diff(record.snapshotKey, stream, { compression: "none", sourceDateEpoch: null }), parsed]);

  const staging = await makeStagingDir(worker.root, "diff");
  const viewKey = `container-${record.id}-diff-${randomBytes(4).toString("hex")}`;
  const viewDir = join(staging, "view");
  await mkdir(viewDir);
  // Owned by this process: if it is killed mid-diff, the next tsbuild reclaims the view.
  await snapshotter.view(viewKey, record.initKey, { labels: ownedByThisProcess() });
  try {
    await snapshotter.mount(viewKey, viewDir);
    try {
      const changes: ContainerChange[] = [];
      for (const entry of entries) {
        if (entry.deleted) {
          changes.push({ kind: "D", path: entry.path });
          continue;
        }
        const parent = await resolveInRoot(viewDir, posix.dirname(entry.path));
        const existed = await lstat(join(parent, posix.basename(entry.path))).then(() => true, () => false);
        changes.push({ kind: existed ? "C" : "A", path: entry.path });
      }
      return changes.sort((a, b) => compareStrings(a.path, b.path));
    } finally {
      await snapshotter.unmount(viewDir);
    }
  } finally {
    await snapshotter.remove(viewKey).catch(() => undefined);
    await rm(staging, { recursive: true, force: true });
  }
}
