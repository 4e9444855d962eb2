import { shortDigest } from "../../oci/digest.js";
import { ellipsis, formatTable, humanAgo, humanSize } from "../../worker/human-units.js";
import { imageHistory } from "../../worker/image-history.js";
import type { Command } from "../command.js";
import { openCommandWorker, ROOT_OPTION } from "./open-command-worker.js";

export const historyCommand: Command = {
  name: "history",
  summary: "Show the history of an image",
  usage: "history [--no-trunc] IMAGE [--root DIR]",
  options: [
    { name: "no-trunc", type: "boolean", description: "Do not truncate ids and commands" },
    { name: "quiet", short: "q", type: "boolean", description: "Only show image ids" },
    ROOT_OPTION,
  ],
  positionals: { min: 1, max: 1 },
  async run(context) {
    const worker = await openCommandWorker(context);
    const rows = await imageHistory(worker, context.positionals[0]);
    const full = context.options["no-trunc"] === true;
    const id = (digest: (typeof rows)[number]["id"]): string => (digest === undefined ? "<missing>" : full ? digest : shortDigest(digest));
    if (context.options.quiet === true) {
      for (const row of rows) context.stdout.write(`${id(row.id)}\n`);
      return 0;
    }
    const now = Date.now();
    context.stdout.write(
      formatTable([
        ["IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"],
        ...rows.map((row) => {
          const createdBy = row.createdBy.replace(/\t/g, " ");
          return [id(row.id), humanAgo(row.created, now), full ? createdBy : ellipsis(createdBy, 45), humanSize(row.size, 3), row.comment];
        }),
      ]),
    );
    return 0;
  },
};
