import { formatTable, humanAgo, humanSize } from "../../worker/human-units.js";
import { configPlatform } from "../../worker/image-platforms.js";
import { listImages } from "../../worker/list-images.js";
import { hostPlatform } from "../../worker/resolve-image.js";
import type { Command } from "../command.js";
import { openCommandWorker, ROOT_OPTION } from "./open-command-worker.js";

export const imagesCommand: Command = {
  name: "images",
  summary: "List images",
  usage: "images [-q] [-a] [--root DIR]",
  description: "A PLATFORM column is shown when some image is for another platform, or for several (a multi-platform image).",
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
    // Platforms are shown once some image is not simply this host's: a multi-platform or foreign one.
    const host = configPlatform(hostPlatform());
    const showPlatforms = rows.some((row) => row.platforms.length > 1 || row.platforms.some((platform) => platform !== host));
    const header = ["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"];
    context.stdout.write(
      formatTable([
        showPlatforms ? [...header, "PLATFORM"] : header,
        ...rows.map((row) => {
          const cells = [row.repository, row.tag, row.shortId, humanAgo(row.created, now), humanSize(row.size, 3)];
          return showPlatforms ? [...cells, row.platforms.join(",")] : cells;
        }),
      ]),
    );
    return 0;
  },
};
