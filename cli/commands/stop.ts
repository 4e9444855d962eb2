import { TsbuildError } from "../../errors.js";
import { restartContainer } from "../../container/restart-container.js";
import { stopContainer } from "../../container/stop-container.js";
import type { Command, CommandContext } from "../command.js";
import { reportError } from "../report-error.js";
import { stringOption } from "./container-options.js";
import { openCommandWorker, ROOT_OPTION } from "./open-command-worker.js";

const STOP_OPTIONS = [
  { name: "time", short: "t", type: "string" as const, valueName: "SECONDS", description: "Seconds to wait before SIGKILL (default 10)" },
  { name: "signal", short: "s", type: "string" as const, valueName: "SIGNAL", description: "Signal to stop with (default: the image's STOPSIGNAL, else SIGTERM)" },
  ROOT_OPTION,
];

export const stopCommand: Command = {
  name: "stop",
  summary: "Stop running containers",
  usage: "stop [-t SECONDS] [-s SIGNAL] CONTAINER... [--root DIR]",
  description: "Sends the stop signal, then SIGKILL after the timeout.",
  options: STOP_OPTIONS,
  positionals: { min: 1, max: Number.POSITIVE_INFINITY },
  run: (context) => eachContainer(context, (worker, name, options) => stopContainer(worker, name, options)),
};

export const restartCommand: Command = {
  name: "restart",
  summary: "Restart containers",
  usage: "restart [-t SECONDS] [-s SIGNAL] CONTAINER... [--root DIR]",
  description: "Stops each container (if it runs) and starts it again in the background.",
  options: STOP_OPTIONS,
  positionals: { min: 1, max: Number.POSITIVE_INFINITY },
  run: (context) => eachContainer(context, (worker, name, options) => restartContainer(worker, name, options)),
};

type StopAction = (
  worker: Awaited<ReturnType<typeof openCommandWorker>>,
  name: string,
  options: { timeoutSeconds?: number; signal?: string },
) => Promise<unknown>;

async function eachContainer(context: CommandContext, action: StopAction): Promise<number> {
  const time = stringOption(context.options.time);
  if (time !== undefined && !/^\d+$/.test(time)) throw new TsbuildError("USAGE", `Cannot parse flag "--time": "${time}" is not a number of seconds`);
  const signal = stringOption(context.options.signal);
  const worker = await openCommandWorker(context);
  let status = 0;
  for (const name of context.positionals) {
    try {
      await action(worker, name, { ...(time === undefined ? {} : { timeoutSeconds: Number(time) }), ...(signal === undefined ? {} : { signal }) });
      context.stdout.write(`${name}\n`);
    } catch (error) {
      status = Math.max(status, reportError(error, { write: (text) => context.stderr.write(text), sources: new Map() }));
    }
  }
  return status;
}
