import { isTsbuildError } from "../../errors.js";
import { inspectImage, type ImageInspect } from "../../worker/inspect-image.js";
import type { Command } from "../command.js";
import { reportError } from "../report-error.js";
import { openCommandWorker, ROOT_OPTION } from "./open-command-worker.js";

export const inspectCommand: Command = {
  name: "inspect",
  summary: "Show images as docker's JSON",
  usage: "inspect IMAGE... [--root DIR]",
  options: [ROOT_OPTION],
  positionals: { min: 1, max: Number.POSITIVE_INFINITY },
  async run(context) {
    const worker = await openCommandWorker(context);
    const found: ImageInspect[] = [];
    let status = 0;
    for (const reference of context.positionals) {
      try {
        found.push(await inspectImage(worker, reference));
      } catch (error) {
        if (!isTsbuildError(error)) throw error;
        status = Math.max(status, reportError(error, { write: (text) => context.stderr.write(text), sources: new Map() }));
      }
    }
    context.stdout.write(`${JSON.stringify(found, null, 4)}\n`);
    return status;
  },
};
