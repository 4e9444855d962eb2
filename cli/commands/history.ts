import { shortDigest } from "../../oci/digest.js";
import { ellipsis, humanAgo, humanSize } from "../../worker/human-units.js";
import { imageHistory, type HistoryRow } from "../../worker/image-history.js";
import type { Command } from "../command.js";
import { formatRows } from "../format/format-rows.js";
import { openCommandWorker, ROOT_OPTION } from "./open-command-worker.js";

const TABLE = "table {{.ID}}\\t{{.CreatedSince}}\\t{{.CreatedBy}}\\t{{.Size}}\\t{{.Comment}}";

/** docker's column headers for the fields of a history row. */
const HEADERS = { ID: "IMAGE", CreatedSince: "CREATED", CreatedAt: "CREATED AT", CreatedBy: "CREATED BY", Size: "SIZE", Comment: "COMMENT" };

export const historyCommand: Command = {
  name: "history",
  summary: "Show the history of an image",
  usage: "history [OPTIONS] IMAGE",
  description: '--format takes a Go template as docker\'s does ("{{.CreatedBy}}", "json"). Fields: ID, CreatedSince, CreatedAt, CreatedBy, Size, Comment.',
  options: [
    { name: "no-trunc", type: "boolean", description: "Do not truncate ids and commands" },
    { name: "quiet", short: "q", type: "boolean", description: "Only show image ids" },
    { name: "format", type: "string", valueName: "FORMAT", description: 'A Go template ("{{.CreatedBy}}"), "table TEMPLATE", "table" or "json"' },
    ROOT_OPTION,
  ],
  positionals: { min: 1, max: 1 },
  async run(context) {
    const worker = await openCommandWorker(context);
    const rows = await imageHistory(worker, context.positionals[0]);
    const full = context.options["no-trunc"] === true;
    const now = Date.now();
    context.stdout.write(
      formatRows(
        rows.map((row) => historyRow(row, { full, now })),
        { format: context.options.format as string | undefined, table: TABLE, headers: HEADERS, quiet: context.options.quiet === true },
      ),
    );
    return 0;
  },
};

/** A history row as docker's formatter shows it to a template. */
function historyRow(row: HistoryRow, options: { full: boolean; now: number }): Record<keyof typeof HEADERS, string> {
  const createdBy = row.createdBy.replace(/\t/g, " ");
  return {
    Comment: row.comment,
    CreatedAt: row.created === undefined ? "" : new Date(row.created).toISOString().replace(/\.\d{3}Z$/, "Z"),
    CreatedBy: options.full ? createdBy : ellipsis(createdBy, 45),
    CreatedSince: humanAgo(row.created, options.now),
    ID: row.id === undefined ? "<missing>" : options.full ? row.id : shortDigest(row.id),
    Size: humanSize(row.size, 3),
  };
}
