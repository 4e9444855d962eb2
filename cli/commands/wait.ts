import { waitContainer } from "../../container/wait-container.js";
import type { Command } from "../command.js";
import { forEachContainer } from "./container-options.js";
import { openCommandWorker, ROOT_OPTION } from "./open-command-worker.js";

export const waitCommand: Command = {
  name: "wait",
  summary: "Wait for containers to stop, then print their exit codes",
  usage: "wait CONTAINER... [--root DIR]",
  description: "Blocks until each container has stopped for good (a restarting one is waited for too) and prints its exit code.",
  options: [ROOT_OPTION],
  positionals: { min: 1, max: Number.POSITIVE_INFINITY },
  async run(context) {
    const worker = await openCommandWorker(context);
    return forEachContainer(context, async (name) => String(await waitContainer(worker, name)));
  },
};
