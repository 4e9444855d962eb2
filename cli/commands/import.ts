import { resolve } from "node:path";
import { parsePlatform } from "../../registry/platform-match.js";
import { importRootfs } from "../../worker/import-rootfs.js";
import type { Command } from "../command.js";
import { openCommandWorker, ROOT_OPTION } from "./open-command-worker.js";

export const importCommand: Command = {
  name: "import",
  summary: "Create an image from a root file system tar (plain, gzip or zstd)",
  usage: "import [OPTIONS] FILE|- [NAME[:TAG]]",
  description: 'The tar becomes one gzip layer. Without a name the image is untagged; its id is printed. "-" reads standard input.',
  options: [
    { name: "message", short: "m", type: "string", valueName: "TEXT", description: "The history comment (default \"Imported from FILE\")" },
    { name: "platform", type: "string", valueName: "OS/ARCH", description: "The platform the rootfs is for (default this host's), recorded in the image config" },
    ROOT_OPTION,
  ],
  positionals: { min: 1, max: 2 },
  async run(context) {
    const [file, name] = context.positionals;
    const worker = await openCommandWorker(context);
    const source = file === "-" ? context.stdin : resolve(context.cwd, file);
    const result = await importRootfs(worker, source, {
      label: file,
      ...(name === undefined ? {} : { name }),
      ...(typeof context.options.message === "string" ? { message: context.options.message } : {}),
      ...(typeof context.options.platform === "string" ? { platform: parsePlatform(context.options.platform) } : {}),
    });
    context.stdout.write(`${result.id}\n`);
    return 0;
  },
};
