import { TsbuildError } from "../../errors.js";
import { commitContainer } from "../../container/commit-container.js";
import type { Command } from "../command.js";
import { listOption, stringOption } from "./container-options.js";
import { openCommandWorker, ROOT_OPTION } from "./open-command-worker.js";

export const commitCommand: Command = {
  name: "commit",
  summary: "Create a new image from a container's changes",
  usage: "commit [-m MSG] [-a AUTHOR] [-c INSTRUCTION]... [--pause true|false] CONTAINER [REPO[:TAG]] [--root DIR]",
  description:
    "The container's writable layer becomes a new layer over its image's; -c applies CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER, WORKDIR, VOLUME, STOPSIGNAL or ONBUILD. " +
    "Volumes, bind mounts, /etc/hosts, /etc/resolv.conf and /etc/hostname are never part of it. Prints the new image id.",
  options: [
    { name: "message", short: "m", type: "string", valueName: "MSG", description: "Commit message (the history entry's comment)" },
    { name: "author", short: "a", type: "string", valueName: "AUTHOR", description: 'Author (e.g. "Jane <jane@example.com>")' },
    { name: "change", short: "c", type: "string", multiple: true, valueName: "INSTRUCTION", description: "Apply a Dockerfile instruction to the image's config" },
    { name: "pause", short: "p", type: "string", valueName: "BOOL", description: "Freeze a running container while committing (default true)" },
    ROOT_OPTION,
  ],
  positionals: { min: 1, max: 2 },
  async run(context) {
    const pause = stringOption(context.options.pause);
    if (pause !== undefined && pause !== "true" && pause !== "false") {
      throw new TsbuildError("USAGE", `Cannot parse flag "--pause": "${pause}" is not true or false`);
    }
    const message = stringOption(context.options.message);
    const author = stringOption(context.options.author);
    const worker = await openCommandWorker(context);
    const [container, name] = context.positionals;
    const result = await commitContainer(worker, container, {
      changes: listOption(context.options.change),
      pause: pause !== "false",
      ...(message === undefined ? {} : { message }),
      ...(author === undefined ? {} : { author }),
      ...(name === undefined ? {} : { name }),
    });
    context.stdout.write(`${result.id}\n`);
    return 0;
  },
};
