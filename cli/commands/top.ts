import { containerTop } from "../../container/container-top.js";
import { formatTable } from "../../worker/human-units.js";
import type { Command } from "../command.js";
import { openCommandWorker, ROOT_OPTION } from "./open-command-worker.js";

export const topCommand: Command = {
  name: "top",
  summary: "Show the processes of a running container",
  usage: "top CONTAINER [--root DIR]",
  description: "Pids are the host's, as docker shows them.",
  options: [ROOT_OPTION],
  positionals: { min: 1, max: 1 },
  async run(context) {
    const worker = await openCommandWorker(context);
    const processes = await containerTop(worker, context.positionals[0]);
    context.stdout.write(formatTable([["UID", "PID", "PPID", "CMD"], ...processes.map((p) => [String(p.uid), String(p.pid), String(p.ppid), p.command])]));
    return 0;
  },
};
