import { reportError } from "../report-error.js";
import { removeImages } from "../../worker/remove-images.js";
import type { Command } from "../command.js";
import { openCommandWorker, ROOT_OPTION } from "./open-command-worker.js";

export const rmiCommand: Command = {
  name: "rmi",
  summary: "Remove images",
  usage: "rmi [-f] IMAGE... [--root DIR]",
  description: "A name is untagged; an image is deleted with its last name, and so are its unpacked layers that nothing else uses.",
  options: [{ name: "force", short: "f", type: "boolean", description: "Remove images with several names, or used by containers" }, ROOT_OPTION],
  positionals: { min: 1, max: Number.POSITIVE_INFINITY },
  async run(context) {
    const worker = await openCommandWorker(context);
    const { results } = await removeImages(worker, context.positionals, { force: context.options.force === true });
    let status = 0;
    for (const result of results) {
      if ("error" in result) {
        // As docker: report each failure and go on with the other images.
        status = Math.max(status, reportError(result.error, { write: (text) => context.stderr.write(text), sources: new Map() }));
        continue;
      }
      for (const name of result.untagged) context.stdout.write(`Untagged: ${name}\n`);
      for (const id of result.deleted) context.stdout.write(`Deleted: ${id}\n`);
    }
    return status;
  },
};
