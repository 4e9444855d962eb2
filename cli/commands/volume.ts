import { createVolume, inspectVolume, listVolumes, pruneVolumes, removeVolume } from "../../container/volumes.js";
import { formatTable } from "../../worker/human-units.js";
import type { Command } from "../command.js";
import { reportError } from "../report-error.js";
import { listOption } from "./container-options.js";
import { openCommandWorker, ROOT_OPTION } from "./open-command-worker.js";

/** The `volume` subcommands, as docker's local driver has them. */

export const volumeCreateCommand: Command = {
  name: "volume create",
  summary: "Create a named volume",
  usage: "volume create [--label K=V]... [NAME] [--root DIR]",
  description: "Without a name the volume gets a random one. Creating an existing volume is not an error.",
  options: [{ name: "label", type: "string", multiple: true, valueName: "K=V", description: "Set a label" }, ROOT_OPTION],
  positionals: { min: 0, max: 1 },
  async run(context) {
    const worker = await openCommandWorker(context);
    const labels = Object.fromEntries(listOption(context.options.label).map((label) => [label.split("=")[0], label.slice(label.indexOf("=") + 1)]));
    const volume = await createVolume(worker, context.positionals[0], { labels, anonymous: false });
    context.stdout.write(`${volume.name}\n`);
    return 0;
  },
};

export const volumeLsCommand: Command = {
  name: "volume ls",
  summary: "List volumes",
  usage: "volume ls [-q] [--root DIR]",
  options: [{ name: "quiet", short: "q", type: "boolean", description: "Only print volume names" }, ROOT_OPTION],
  positionals: { min: 0, max: 0 },
  async run(context) {
    const worker = await openCommandWorker(context);
    const volumes = await listVolumes(worker);
    if (context.options.quiet === true) {
      for (const volume of volumes) context.stdout.write(`${volume.name}\n`);
      return 0;
    }
    context.stdout.write(formatTable([["DRIVER", "VOLUME NAME"], ...volumes.map((volume) => ["local", volume.name])]));
    return 0;
  },
};

export const volumeInspectCommand: Command = {
  name: "volume inspect",
  summary: "Show volumes as docker's JSON",
  usage: "volume inspect VOLUME... [--root DIR]",
  options: [ROOT_OPTION],
  positionals: { min: 1, max: Number.POSITIVE_INFINITY },
  async run(context) {
    const worker = await openCommandWorker(context);
    const out = [];
    for (const name of context.positionals) {
      const volume = await inspectVolume(worker, name);
      out.push({ CreatedAt: volume.createdAt, Driver: "local", Labels: volume.labels, Mountpoint: volume.mountpoint, Name: volume.name, Options: null, Scope: "local" });
    }
    context.stdout.write(`${JSON.stringify(out, null, 4)}\n`);
    return 0;
  },
};

export const volumeRmCommand: Command = {
  name: "volume rm",
  summary: "Remove volumes",
  usage: "volume rm [-f] VOLUME... [--root DIR]",
  description: "A volume a container uses (running or not) stays unless -f.",
  options: [{ name: "force", short: "f", type: "boolean", description: "Remove volumes containers use" }, ROOT_OPTION],
  positionals: { min: 1, max: Number.POSITIVE_INFINITY },
  async run(context) {
    const worker = await openCommandWorker(context);
    let status = 0;
    for (const name of context.positionals) {
      try {
        await removeVolume(worker, name, { force: context.options.force === true });
        context.stdout.write(`${name}\n`);
      } catch (error) {
        status = Math.max(status, reportError(error, { write: (text) => context.stderr.write(text), sources: new Map() }));
      }
    }
    return status;
  },
};

export const volumePruneCommand: Command = {
  name: "volume prune",
  summary: "Remove unused anonymous volumes",
  usage: "volume prune [-a] [--root DIR]",
  options: [{ name: "all", short: "a", type: "boolean", description: "Remove named volumes no container uses too" }, ROOT_OPTION],
  positionals: { min: 0, max: 0 },
  async run(context) {
    const worker = await openCommandWorker(context);
    const removed = await pruneVolumes(worker, { all: context.options.all === true });
    if (removed.length > 0) context.stdout.write(`Deleted Volumes:\n${removed.map((name) => `${name}\n`).join("")}\n`);
    context.stdout.write(`Total reclaimed volumes: ${removed.length}\n`);
    return 0;
  },
};
