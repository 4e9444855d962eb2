import { TsbuildError } from "../../errors.js";
import { humanSize } from "../../worker/human-units.js";
import { pruneImages } from "../../worker/prune-images.js";
import type { Command, CommandContext } from "../command.js";
import { openCommandWorker, ROOT_OPTION } from "./open-command-worker.js";

export const pruneCommand: Command = {
  name: "prune",
  summary: "Remove dangling images and unused build cache",
  usage: "prune [-a] [-f] [--root DIR]",
  options: [
    { name: "all", short: "a", type: "boolean", description: "Remove all images no container uses, not just dangling ones" },
    { name: "force", short: "f", type: "boolean", description: "Do not ask for confirmation" },
    ROOT_OPTION,
  ],
  positionals: { min: 0, max: 0 },
  async run(context) {
    const all = context.options.all === true;
    if (context.options.force !== true) {
      context.stdout.write(
        all
          ? "WARNING! This will remove all images without at least one container associated to them.\n"
          : "WARNING! This will remove all dangling images.\n",
      );
      context.stdout.write("Are you sure you want to continue? [y/N] ");
      if (!(await confirmed(context))) {
        throw new TsbuildError("USAGE", "Prune cancelled", { hint: "Answer y, or use --force" });
      }
    }
    const worker = await openCommandWorker(context);
    const result = await pruneImages(worker, { all });
    if (result.untagged.length + result.deleted.length > 0) {
      context.stdout.write("Deleted Images:\n");
      for (const name of result.untagged) context.stdout.write(`untagged: ${name}\n`);
      for (const id of result.deleted) context.stdout.write(`deleted: ${id}\n`);
      context.stdout.write("\n");
    }
    context.stdout.write(`Total reclaimed space: ${humanSize(result.reclaimedBytes)}\n`);
    return 0;
  },
};

/** Reads one line of standard input: true for "y" or "yes". */
async function confirmed(context: CommandContext): Promise<boolean> {
  let text = "";
  for await (const chunk of context.stdin) {
    text += Buffer.isBuffer(chunk) ? chunk.toString("utf8") : String(chunk);
    if (text.includes("\n")) break;
  }
  return /^\s*y(es)?\s*$/i.test(text.split("\n")[0]);
}
