import { TsbuildError } from "../../errors.js";
import { copyFromContainer, copyToContainer } from "../../container/copy-container-files.js";
import type { Command } from "../command.js";
import { openCommandWorker, ROOT_OPTION } from "./open-command-worker.js";

export const cpCommand: Command = {
  name: "cp",
  summary: "Copy files between a container and the host",
  usage: "cp CONTAINER:SRC_PATH DEST_PATH | cp SRC_PATH CONTAINER:DEST_PATH [--root DIR]",
  description: "Copies into or out of the container's own file system (its layer over the image); a directory lands inside an existing directory.",
  options: [ROOT_OPTION],
  positionals: { min: 2, max: 2 },
  async run(context) {
    const [from, to] = context.positionals.map(splitContainerPath);
    if ((from.container === undefined) === (to.container === undefined)) {
      throw new TsbuildError("USAGE", "Cannot copy: exactly one of the paths must be CONTAINER:PATH", { hint: `Usage: tsbuild ${cpCommand.usage}` });
    }
    const worker = await openCommandWorker(context);
    const host = (path: string) => (path.startsWith("/") ? path : `${context.cwd}/${path}`);
    if (from.container !== undefined) await copyFromContainer(worker, from.container, { source: from.path, destination: host(to.path) });
    else await copyToContainer(worker, to.container!, { source: host(from.path), destination: to.path });
    return 0;
  },
};

/** docker's rule: a colon before the first slash names a container. */
function splitContainerPath(text: string): { container?: string; path: string } {
  const colon = text.indexOf(":");
  const slash = text.indexOf("/");
  if (colon <= 0 || (slash >= 0 && slash < colon)) return { path: text };
  return { container: text.slice(0, colon), path: text.slice(colon + 1) || "/" };
}
