import { isTsbuildError } from "../../errors.js";
import { parsePlatform } from "../../registry/platform-match.js";
import { inspectImage, type ImageInspect } from "../../worker/inspect-image.js";
import { inspectContainer, type ContainerInspect } from "../../container/inspect-container.js";
import type { Command } from "../command.js";
import { parseFormat, runFormat } from "../format/format-rows.js";
import { reportError } from "../report-error.js";
import { openCommandWorker, ROOT_OPTION } from "./open-command-worker.js";

export const inspectCommand: Command = {
  name: "inspect",
  summary: "Show images (or containers) as docker's JSON",
  usage: "inspect [-f FORMAT] [--platform OS/ARCH] IMAGE|CONTAINER...",
  description: 'With -f, a Go template runs over each object, as docker\'s does: -f "{{.Config.Cmd}}", -f "{{json .Config}}", -f "{{index .Config.Labels \"KEY\"}}".',
  options: [
    { name: "format", short: "f", type: "string", valueName: "FORMAT", description: 'A Go template for each object ("{{.Id}}"), or "json" (the default)' },
    { name: "platform", type: "string", valueName: "OS/ARCH", description: "Of a multi-platform image, the platform to show (default this host's)" },
    ROOT_OPTION,
  ],
  positionals: { min: 1, max: Number.POSITIVE_INFINITY },
  async run(context) {
    const format = context.options.format as string | undefined;
    // Parsed first: a template error is reported before anything is looked up.
    const template = format === undefined || format === "" || format === "json" ? undefined : parseFormat(format.replace(/\\t/g, "\t").replace(/\\n/g, "\n"));
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
    if (template === undefined) context.stdout.write(`${JSON.stringify(found, null, 4)}\n`);
    else for (const object of found) context.stdout.write(`${runFormat(template, withConfigZeroValues(object))}\n`);
    return status;
  },
};

/**
 * docker's Config is a Go struct: a field the JSON leaves out or sets to null still prints
 * as its type's zero value (`{{.Config.Entrypoint}}` is `[]`, `{{.Config.Labels}}` `map[]`).
 */
const CONFIG_ZERO_VALUES: Readonly<Record<string, () => unknown>> = {
  Hostname: () => "",
  Domainname: () => "",
  User: () => "",
  Env: () => [],
  Cmd: () => [],
  Entrypoint: () => [],
  WorkingDir: () => "",
  Labels: () => ({}),
  Volumes: () => ({}),
  ExposedPorts: () => ({}),
  OnBuild: () => [],
  Shell: () => [],
  StopSignal: () => "",
  Image: () => "",
};

function withConfigZeroValues<T extends object>(object: T): T {
  const config = (object as { Config?: Record<string, unknown> | null }).Config;
  const filled: Record<string, unknown> = { ...(config ?? {}) };
  for (const [key, zero] of Object.entries(CONFIG_ZERO_VALUES)) if (filled[key] === undefined || filled[key] === null) filled[key] = zero();
  return { ...object, Config: filled };
}
