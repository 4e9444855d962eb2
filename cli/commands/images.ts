import { formatTable, humanAgo, humanSize } from "../../worker/human-units.js";
import { listImages } from "../../worker/list-images.js";
import type { Command } from "../command.js";
import { openCommandWorker, ROOT_OPTION } from "./open-command-worker.js";

export const imagesCommand: Command = {
  name: "images",
  summary: "List images",
  usage: "images [-q] [-a] [--root DIR]",
  options: [
    { name: "quiet", short: "q", type: "boolean", description: "Only show image ids" },
    { name: "all", short: "a", type: "boolean", description: "Show all images (tsbuild keeps no intermediate ones)" },
    ROOT_OPTION,
  ],
  positionals: { min: 0, max: 0 },
  async run(context) {
    const worker = await openCommandWorker(context);
    const rows = await listImages(worker, { all: context.options.all === true });
    if (context.options.quiet === true) {
      for (const row of rows) context.stdout.write(`${row.shortId}\n`);
      return 0;
    }
    const now = Date.now();
    context.stdout.write(
      formatTable([
        ["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"],
        ...rows.map((row) => [row.repository, row.tag, row.shortId, humanAgo(row.created, now), humanSize(row.size, 3)]),
      ]),
    );
    return 0;
  },
};
