import { fsck } from "../../worker/fsck.js";
import { isEmptyReclaim } from "../../worker/reclaim-leftovers.js";
import type { Command } from "../command.js";
import { openCommandWorker, ROOT_OPTION } from "./open-command-worker.js";

export const fsckCommand: Command = {
  name: "fsck",
  summary: "Verify every blob, image record and snapshot of the store",
  usage: "fsck [--root DIR]",
  description: "Exits 1 when anything is broken, after listing each problem.",
  options: [ROOT_OPTION],
  positionals: { min: 0, max: 0 },
  async run(context) {
    const report = await fsck(await openCommandWorker(context));
    const { store } = report;
    const reclaimed = report.reclaimed;
    if (reclaimed !== undefined && !isEmptyReclaim(reclaimed)) {
      const parts = [`${reclaimed.containers.length} sandbox(es)`, `${reclaimed.snapshots.length} active snapshot(s)`, `${reclaimed.mounts.length} mount(s)`, `${reclaimed.bundles.length + reclaimed.tempDirs.length} scratch dir(s)`];
      context.stdout.write(`reclaimed from dead processes: ${parts.join(", ")}\n`);
    }
    for (const problem of report.problems) context.stdout.write(`broken: ${problem}\n`);
    context.stdout.write(
      `Checked ${store.blobs.checked} blobs, ${store.images.checked} images, ${store.refs.checked} refs: ${report.ok ? "no problems" : `${report.problems.length} problem(s)`}\n`,
    );
    return report.ok ? 0 : 1;
  },
};
