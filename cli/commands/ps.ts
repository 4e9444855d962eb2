import { describeState, listContainers } from "../../container/list-containers.js";
import { formatPortBindings } from "../../container/port-bindings.js";
import { ellipsis, formatTable, humanAgo } from "../../worker/human-units.js";
import type { Command } from "../command.js";
import { openCommandWorker, ROOT_OPTION } from "./open-command-worker.js";

export const psCommand: Command = {
  name: "ps",
  summary: "List containers",
  usage: "ps [-a] [-q] [--root DIR]",
  description: "States are checked against the runtime, so a container whose tsbuild or shim was killed shows as it truly is.",
  options: [
    { name: "all", short: "a", type: "boolean", description: "Show all containers (default: running ones)" },
    { name: "quiet", short: "q", type: "boolean", description: "Only print container ids" },
    ROOT_OPTION,
  ],
  positionals: { min: 0, max: 0 },
  async run(context) {
    const worker = await openCommandWorker(context);
    const entries = await listContainers(worker, { all: context.options.all === true });
    if (context.options.quiet === true) {
      for (const { record } of entries) context.stdout.write(`${record.id.slice(0, 12)}\n`);
      return 0;
    }
    const rows = [["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"]];
    for (const { record, state, health } of entries) {
      const status = describeState(state, Date.now(), health);
      rows.push([record.id.slice(0, 12), record.image, `"${ellipsis(record.args.join(" "), 20)}"`, humanAgo(record.created), status, formatPortBindings(state.ports), record.name]);
    }
    context.stdout.write(formatTable(rows));
    return 0;
  },
};
