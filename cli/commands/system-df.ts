import { diskUsage } from "../../worker/disk-usage.js";
import { formatTable, humanSize } from "../../worker/human-units.js";
import type { Command } from "../command.js";
import { openCommandWorker, ROOT_OPTION } from "./open-command-worker.js";

export const systemDfCommand: Command = {
  name: "system df",
  summary: "Show disk usage of images, containers and build cache",
  usage: "system df [--root DIR]",
  options: [ROOT_OPTION],
  positionals: { min: 0, max: 0 },
  async run(context) {
    const rows = await diskUsage(await openCommandWorker(context));
    context.stdout.write(
      formatTable([
        ["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"],
        ...rows.map((row) => {
          // docker shows the share only where it means something (not for the build cache).
          const share = row.type !== "Build Cache" && row.type !== "Build Scratch" && row.size > 0 ? ` (${Math.floor((row.reclaimable * 100) / row.size)}%)` : "";
          return [row.type, String(row.total), String(row.active), humanSize(row.size), `${humanSize(row.reclaimable)}${share}`];
        }),
      ]),
    );
    return 0;
  },
};
