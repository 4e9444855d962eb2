import { renameContainer } from "../../container/container-record.js";
import type { Command } from "../command.js";
import { openCommandWorker, ROOT_OPTION } from "./open-command-worker.js";

export const renameCommand: Command = {
  name: "rename",
  summary: "Rename a container",
  usage: "rename CONTAINER NEW-NAME [--root DIR]",
  description: "Works on running containers too; the new name must be unused.",
  options: [ROOT_OPTION],
  positionals: { min: 2, max: 2 },
  async run(context) {
    const worker = await openCommandWorker(context);
    await renameContainer(worker, context.positionals[0], context.positionals[1]);
    return 0;
  },
};
