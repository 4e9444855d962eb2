import { removeContainer } from "../../container/remove-container.js";
import type { Command } from "../command.js";
import { forEachContainer } from "./container-options.js";
import { openCommandWorker, ROOT_OPTION } from "./open-command-worker.js";

export const rmCommand: Command = {
  name: "rm",
  summary: "Remove containers",
  usage: "rm [-f] [-v] CONTAINER... [--root DIR]",
  description: "Removes the container's writable layer, mounts and records; named volumes stay, and anonymous ones too unless -v.",
  options: [
    { name: "force", short: "f", type: "boolean", description: "Kill and remove a running container" },
    { name: "volumes", short: "v", type: "boolean", description: "Remove the container's anonymous volumes" },
    ROOT_OPTION,
  ],
  positionals: { min: 1, max: Number.POSITIVE_INFINITY },
  async run(context) {
    const worker = await openCommandWorker(context);
    // As docker: report each failure and go on with the other containers.
    return forEachContainer(context, async (name) => {
      await removeContainer(worker, name, { force: context.options.force === true, volumes: context.options.volumes === true });
      return name;
    });
  },
};
