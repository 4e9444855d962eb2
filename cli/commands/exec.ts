import { execInContainer } from "../../container/exec-container.js";
import type { Command } from "../command.js";
import { listOption, stringOption } from "./container-options.js";
import { openCommandWorker, ROOT_OPTION } from "./open-command-worker.js";

export const execCommand: Command = {
  name: "exec",
  summary: "Run a command in a running container",
  usage: "exec [-i] [-t] [-d] [-e K=V] [-w DIR] [-u USER] CONTAINER COMMAND [ARG...]",
  description: "Exits with the command's status.",
  options: [
    { name: "interactive", short: "i", type: "boolean", description: "Keep stdin open" },
    { name: "tty", short: "t", type: "boolean", description: "Give the process a terminal" },
    { name: "detach", short: "d", type: "boolean", description: "Start the command and return" },
    { name: "env", short: "e", type: "string", multiple: true, valueName: "KEY=VALUE", description: "Set an environment variable" },
    { name: "workdir", short: "w", type: "string", valueName: "DIR", description: "Working directory inside the container" },
    { name: "user", short: "u", type: "string", valueName: "USER", description: "User name or uid, optionally :group" },
    ROOT_OPTION,
  ],
  positionals: { min: 2, max: Number.POSITIVE_INFINITY },
  stopAtFirstPositional: true,
  async run(context) {
    const worker = await openCommandWorker(context);
    const [container, ...args] = context.positionals;
    const workdir = stringOption(context.options.workdir);
    const user = stringOption(context.options.user);
    return execInContainer(worker, container, {
      args,
      env: listOption(context.options.env),
      tty: context.options.tty === true,
      interactive: context.options.interactive === true,
      detach: context.options.detach === true,
      inheritStdio: true,
      onOutput: (stream, chunk) => (stream === "stdout" ? context.stdout : context.stderr).write(chunk),
      ...(workdir === undefined ? {} : { cwd: workdir }),
      ...(user === undefined ? {} : { user }),
    });
  },
};
