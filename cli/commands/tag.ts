import { tagImage } from "../../worker/tag-image.js";
import type { Command } from "../command.js";
import { openCommandWorker, ROOT_OPTION } from "./open-command-worker.js";

export const tagCommand: Command = {
  name: "tag",
  summary: "Give an image another name",
  usage: "tag SOURCE TARGET [--root DIR]",
  options: [ROOT_OPTION],
  positionals: { min: 2, max: 2 },
  async run(context) {
    const [source, target] = context.positionals;
    await tagImage(await openCommandWorker(context), { source, target });
    return 0;
  },
};
