import { killContainer } from "../../container/stop-container.js";
import type { Command } from "../command.js";
import { forEachContainer, stringOption } from "./container-options.js";
import { openCommandWorker, ROOT_OPTION } from "./open-command-worker.js";

export const killCommand: Command = {
  name: "kill",
  summary: "Send a signal to running containers",
  usage: "kill [-s SIGNAL] CONTAINER... [--root DIR]",
  options: [{ name: "signal", short: "s", type: "string", valueName: "SIGNAL", description: "The signal (default SIGKILL)" }, ROOT_OPTION],
  positionals: { min: 1, max: Number.POSITIVE_INFINITY },
  async run(context) {
    const signal = stringOption(context.options.signal);
    const worker = await openCommandWorker(context);
    return forEachContainer(context, async (name) => {
      await killContainer(worker, name, signal === undefined ? {} : { signal });
      return name;
    });
  },
};
