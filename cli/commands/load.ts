import { resolve } from "node:path";
import { TsbuildError } from "../../errors.js";
import { loadImages } from "../../worker/load-images.js";
import type { Command } from "../command.js";
import { openCommandWorker, ROOT_OPTION } from "./open-command-worker.js";

export const loadCommand: Command = {
  name: "load",
  summary: "Load images from a docker-archive or OCI archive",
  usage: "load [-i FILE] [--root DIR]",
  description: "Reads standard input without -i. Every layer is checked and unpacked before the images are recorded.",
  options: [{ name: "input", short: "i", type: "string", valueName: "FILE", description: "Read from a tar archive file instead of standard input" }, ROOT_OPTION],
  positionals: { min: 0, max: 0 },
  async run(context) {
    const input = context.options.input as string | undefined;
    if (input === undefined && (context.stdin as { isTTY?: boolean }).isTTY === true) {
      throw new TsbuildError("USAGE", "Cannot load from a terminal: standard input is not an archive", {
        hint: "Give the archive with -i FILE, or pipe it in",
      });
    }
    const worker = await openCommandWorker(context);
    const source = input === undefined || input === "-" ? context.stdin : resolve(context.cwd, input);
    const result = await loadImages(worker, source, { label: input ?? "stdin" });
    for (const image of result.images) {
      for (const { name, previousId } of image.renamed) {
        context.stdout.write(`The image ${name} already exists, renaming the old one with ID ${previousId} to empty string\n`);
      }
      if (image.names.length === 0) context.stdout.write(`Loaded image ID: ${image.id}\n`);
      for (const name of image.names) context.stdout.write(`Loaded image: ${name}\n`);
    }
    return 0;
  },
};
