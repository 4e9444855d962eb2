import { isTsbuildError } from "../../errors.js";
import { parsePlatform } from "../../registry/platform-match.js";
import { inspectImage, type ImageInspect } from "../../worker/inspect-image.js";
import { inspectContainer, type ContainerInspect } from "../../container/inspect-container.js";
import type { Command } from "../command.js";
import { reportError } from "../report-error.js";
import { openCommandWorker, ROOT_OPTION } from "./open-command-worker.js";

export const inspectCommand: Command = {
  name: "inspect",
  summary: "Show images (or containers) as docker's JSON",
  usage: "inspect [--platform OS/ARCH] IMAGE|CONTAINER... [--root DIR]",
  options: [{ name: "platform", type: "string", valueName: "OS/ARCH", description: "Of a multi-platform image, the platform to show (default this host's)" }, ROOT_OPTION],
  positionals: { min: 1, max: Number.POSITIVE_INFINITY },
  async run(context) {
    const worker = await openCommandWorker(context);
    const found: Array<ImageInspect | ContainerInspect> = [];
    const platform = typeof context.options.platform === "string" ? parsePlatform(context.options.platform) : undefined;
    let status = 0;
    for (const reference of context.positionals) {
      try {
        found.push(await inspectImage(worker, reference, platform === undefined ? {} : { platform }).catch(async (error: unknown) => {
          // Not an image: a container of that name or id, else the image's error.
          if (!isTsbuildError(error, "NOT_FOUND") && !isTsbuildError(error, "INVALID_REFERENCE")) throw error;
          return inspectContainer(worker, reference).catch(() => Promise.reject(error));
        }));
      } catch (error) {
        if (!isTsbuildError(error)) throw error;
        status = Math.max(status, reportError(error, { write: (text) => context.stderr.write(text), sources: new Map() }));
      }
    }
    context.stdout.write(`${JSON.stringify(found, null, 4)}\n`);
    return status;
  },
};
