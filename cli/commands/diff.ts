import { containerDiff } from "../../container/container-diff.js";
import type { Command } from "../command.js";
import { openCommandWorker, ROOT_OPTION } from "./open-command-worker.js";

export const diffCommand: Command = {
  name: "diff",
  summary: "Show the changes of a container's file system",
  usage: "diff CONTAINER [--root DIR]",
  description: "A added, C changed, D deleted: the changes `commit` would write.",
  options: [ROOT_OPTION],
  positionals: { min: 1, max: 1 },
  async run(context) {
    const worker = await openCommandWorker(context);
    for (const change of await containerDiff(worker, context.positionals[0])) context.stdout.write(`${change.kind} ${change.path}\n`);
    return 0;
  },
};
