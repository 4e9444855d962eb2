import { shortDigest } from "../../oci/digest.js";
import { familiarString, parseReference, withDefaultTag } from "../../oci/reference.js";
import { parsePlatform } from "../../registry/platform-match.js";
import { pullImage } from "../../registry/pull-image.js";
import type { Command } from "../command.js";
import { openCommandWorker, ROOT_OPTION } from "./open-command-worker.js";
import { INSECURE_REGISTRY_OPTION, registryAccess } from "./registry-flags.js";

export const pullCommand: Command = {
  name: "pull",
  summary: "Download an image from a registry",
  usage: "pull [--platform OS/ARCH] [-q] NAME[:TAG|@DIGEST]",
  description: "Credentials come from `tsbuild login` (docker's config.json, $DOCKER_CONFIG). Every blob is checked against its digest; a failed pull changes nothing.",
  options: [
    { name: "platform", type: "string", valueName: "OS/ARCH", description: "Of a multi-platform image, the platform to pull (default this host's)" },
    { name: "quiet", short: "q", type: "boolean", description: "Print only the image's full name" },
    INSECURE_REGISTRY_OPTION,
    ROOT_OPTION,
  ],
  positionals: { min: 1, max: 1 },
  async run(context) {
    const text = context.positionals[0];
    const reference = withDefaultTag(parseReference(text));
    const platform = typeof context.options.platform === "string" ? parsePlatform(context.options.platform) : undefined;
    const quiet = context.options.quiet === true;
    const worker = await openCommandWorker(context);
    if (!quiet) context.stdout.write(`${reference.digest ?? reference.tag}: Pulling from ${reference.path}\n`);
    const result = await pullImage(worker, text, {
      ...registryAccess(context),
      ...(platform === undefined ? {} : { platform }),
      onProgress: (event) => {
        if (quiet || event.kind !== "layer") return;
        if (event.status === "exists") context.stdout.write(`${shortDigest(event.digest)}: Already exists\n`);
        else if (event.status === "done") context.stdout.write(`${shortDigest(event.digest)}: Pull complete\n`);
      },
    });
    const shown = familiarString(reference);
    if (!quiet) {
      context.stdout.write(`Digest: ${result.digest}\n`);
      context.stdout.write(result.updated ? `Status: Downloaded newer image for ${shown}\n` : `Status: Image is up to date for ${shown}\n`);
    }
    context.stdout.write(`${result.name ?? `${reference.domain}/${reference.path}@${result.digest}`}\n`);
    return 0;
  },
};
