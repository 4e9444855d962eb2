import { resolve } from "node:path";
import { TsbuildError } from "../../errors.js";
import { saveImages } from "../../worker/save-images.js";
import type { Command } from "../command.js";
import { openCommandWorker, ROOT_OPTION } from "./open-command-worker.js";

export const saveCommand: Command = {
  name: "save",
  summary: "Save images to a docker-archive or OCI archive",
  usage: "save [-o FILE] [--format docker|oci] IMAGE...",
  description: "Writes standard output without -o (not a terminal). An image given by name keeps that name in the archive.",
  options: [
    { name: "output", short: "o", type: "string", valueName: "FILE", description: "Write to a file instead of standard output" },
    { name: "format", type: "string", valueName: "FORMAT", description: "docker (default, as docker save) or oci" },
    ROOT_OPTION,
  ],
  positionals: { min: 1, max: Number.POSITIVE_INFINITY },
  async run(context) {
    const format = (context.options.format as string | undefined) ?? "docker";
    if (format !== "docker" && format !== "oci") {
      throw new TsbuildError("USAGE", `Unknown archive format "${format}"`, { hint: "Use --format docker or --format oci" });
    }
    const output = context.options.output as string | undefined;
    if (output === undefined && (context.stdout as { isTTY?: boolean }).isTTY === true) {
      throw new TsbuildError("USAGE", "Cannot write an archive to a terminal", { hint: "Give a file with -o, or redirect standard output" });
    }
    const worker = await openCommandWorker(context);
    await saveImages(worker, context.positionals, { output: output === undefined ? context.stdout : resolve(context.cwd, output), format });
    return 0;
  },
};
