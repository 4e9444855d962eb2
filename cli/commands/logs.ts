import { TsbuildError } from "../../errors.js";
import { containerLogs } from "../../container/container-logs.js";
import type { Command } from "../command.js";
import { stringOption } from "./container-options.js";
import { openCommandWorker, ROOT_OPTION } from "./open-command-worker.js";

export const logsCommand: Command = {
  name: "logs",
  summary: "Show a container's output",
  usage: "logs [-f] [--tail N] [-t] CONTAINER [--root DIR]",
  description: "Standard output and error as the container wrote them (a container with a terminal of tsbuild's own keeps none).",
  options: [
    { name: "follow", short: "f", type: "boolean", description: "Keep printing until the container stops" },
    { name: "tail", short: "n", type: "string", valueName: "N", description: 'Only the last N lines ("all" for every line)' },
    { name: "timestamps", short: "t", type: "boolean", description: "Put the time of each write before it" },
    ROOT_OPTION,
  ],
  positionals: { min: 1, max: 1 },
  async run(context) {
    const tailText = stringOption(context.options.tail);
    let tail: number | undefined;
    if (tailText !== undefined && tailText !== "all") {
      tail = Number(tailText);
      if (!/^\d+$/.test(tailText)) throw new TsbuildError("USAGE", `Cannot parse flag "--tail": "${tailText}" is not a number of lines`);
    }
    const worker = await openCommandWorker(context);
    const stop = new AbortController();
    const onSignal = () => stop.abort();
    process.once("SIGINT", onSignal);
    try {
      for await (const entry of containerLogs(worker, context.positionals[0], { follow: context.options.follow === true, signal: stop.signal, ...(tail === undefined ? {} : { tail }) })) {
        const text = context.options.timestamps === true ? `${entry.time} ${entry.log}` : entry.log;
        (entry.stream === "stderr" ? context.stderr : context.stdout).write(text);
      }
    } finally {
      process.off("SIGINT", onSignal);
    }
    return 0;
  },
};
