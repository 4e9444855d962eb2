import { startContainer } from "../../container/start-container.js";
import type { Command } from "../command.js";
import { reportError } from "../report-error.js";
import { openCommandWorker, ROOT_OPTION } from "./open-command-worker.js";

export const startCommand: Command = {
  name: "start",
  summary: "Start stopped containers",
  usage: "start [-a] CONTAINER... [--root DIR]",
  description: "Runs the container's command again over its writable layer; in the background unless -a.",
  options: [{ name: "attach", short: "a", type: "boolean", description: "Attach to the output and exit with the container's status (one container)" }, ROOT_OPTION],
  positionals: { min: 1, max: Number.POSITIVE_INFINITY },
  async run(context) {
    const worker = await openCommandWorker(context);
    if (context.options.attach === true && context.positionals.length === 1) {
      const started = await startContainer(worker, context.positionals[0], {
        attach: { inheritStdio: true, onOutput: (stream, chunk) => (stream === "stdout" ? context.stdout : context.stderr).write(chunk) },
      });
      return started.exited === undefined ? 0 : await started.exited;
    }
    let status = 0;
    for (const name of context.positionals) {
      try {
        await startContainer(worker, name);
        context.stdout.write(`${name}\n`);
      } catch (error) {
        status = Math.max(status, reportError(error, { write: (text) => context.stderr.write(text), sources: new Map() }));
      }
    }
    return status;
  },
};
