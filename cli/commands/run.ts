import { TsbuildError } from "../../errors.js";
import { createContainer } from "../../container/create-container.js";
import { startContainer } from "../../container/start-container.js";
import { killContainer } from "../../container/stop-container.js";
import { parsePlatform } from "../../registry/platform-match.js";
import type { Command } from "../command.js";
import { listOption, RUN_OPTIONS, stringOption } from "./container-options.js";
import { openCommandWorker, ROOT_OPTION } from "./open-command-worker.js";

const FORWARDED_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2"] as const;

export const runCommand: Command = {
  name: "run",
  summary: "Run a command in a new container",
  usage: "run [OPTIONS] IMAGE [COMMAND] [ARG...]",
  description:
    "Creates a container (a writable snapshot over the image) and runs the image's ENTRYPOINT/CMD or the given command with the image's Env, WorkingDir and User. " +
    "Attached, it streams the output, forwards signals and exits with the container's status; with -d the container runs on after tsbuild exits.",
  options: [...RUN_OPTIONS, { name: "platform", type: "string", valueName: "OS/ARCH", description: "Of a multi-platform image, the platform to run (default this host's)" }, ROOT_OPTION],
  positionals: { min: 1, max: Number.POSITIVE_INFINITY },
  stopAtFirstPositional: true,
  failureStatus: 125,
  async run(context) {
    const { options } = context;
    const network = stringOption(options.network);
    if (network !== undefined && network !== "default" && network !== "bridge" && network !== "none" && network !== "host") {
      throw new TsbuildError("USAGE", `Cannot use network "${network}": use default, host or none`);
    }
    const entrypoint = stringOption(options.entrypoint);
    const worker = await openCommandWorker(context);
    const [image, ...command] = context.positionals;
    const record = await createContainer(worker, {
      image,
      command,
      ...(entrypoint === undefined ? {} : { entrypoint: entrypoint === "" ? [] : [entrypoint] }),
      env: listOption(options.env),
      envFiles: listOption(options["env-file"]).map((file) => (file.startsWith("/") ? file : `${context.cwd}/${file}`)),
      volumes: listOption(options.volume),
      ...(stringOption(options.name) === undefined ? {} : { name: stringOption(options.name) }),
      ...(stringOption(options.workdir) === undefined ? {} : { workdir: stringOption(options.workdir) }),
      ...(stringOption(options.user) === undefined ? {} : { user: stringOption(options.user) }),
      ...(stringOption(options.hostname) === undefined ? {} : { hostname: stringOption(options.hostname) }),
      // docker's default network is named "bridge".
      ...(network === undefined ? {} : { network: network === "bridge" ? "default" : network }),
      publish: listOption(options.publish),
      publishAll: options["publish-all"] === true,
      addHosts: listOption(options["add-host"]),
      dns: listOption(options.dns),
      ...(stringOption(options.restart) === undefined ? {} : { restart: stringOption(options.restart) }),
      tty: options.tty === true,
      interactive: options.interactive === true,
      autoRemove: options.rm === true,
      ...(stringOption(options.platform) === undefined ? {} : { platform: parsePlatform(stringOption(options.platform)!) }),
    });
    if (options.detach === true) {
      await startContainer(worker, record.id);
      context.stdout.write(`${record.id}\n`);
      return 0;
    }
    const started = await startContainer(worker, record.id, {
      attach: { inheritStdio: true, onOutput: (stream, chunk) => (stream === "stdout" ? context.stdout : context.stderr).write(chunk) },
    });
    // docker's sig-proxy: a signal to tsbuild goes to the container's process (and leaves its restart policy be).
    const forward = (signal: NodeJS.Signals) => void killContainer(worker, record.id, { signal, restart: true }).catch(() => undefined);
    for (const signal of FORWARDED_SIGNALS) process.on(signal, forward);
    // The terminal is tsbuild's: its new size reaches the container through the shim.
    const resized = started.resized;
    if (resized !== undefined) process.on("SIGWINCH", resized);
    try {
      return await started.exited!;
    } finally {
      for (const signal of FORWARDED_SIGNALS) process.off(signal, forward);
      if (resized !== undefined) process.off("SIGWINCH", resized);
    }
  },
};
