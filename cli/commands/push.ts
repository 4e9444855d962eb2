import { shortDigest } from "../../oci/digest.js";
import { familiarName, parseReference, withDefaultTag } from "../../oci/reference.js";
import { parsePlatform } from "../../registry/platform-match.js";
import { pushImage } from "../../registry/push-image.js";
import type { Command } from "../command.js";
import { openCommandWorker, ROOT_OPTION } from "./open-command-worker.js";
import { INSECURE_REGISTRY_OPTION, registryAccess } from "./registry-flags.js";

export const pushCommand: Command = {
  name: "push",
  summary: "Upload an image to a registry",
  usage: "push [--platform OS/ARCH] [-q] NAME[:TAG]",
  description: "The image's name says which registry. Blobs the registry has are skipped; the tag is set last.",
  options: [
    { name: "platform", type: "string", valueName: "OS/ARCH", description: "Of a multi-platform image, push only this platform's manifest" },
    { name: "quiet", short: "q", type: "boolean", description: "Print only the pushed digest" },
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
    if (!quiet) context.stdout.write(`The push refers to repository [${familiarName(reference)}]\n`);
    const result = await pushImage(worker, text, {
      ...registryAccess(context),
      ...(platform === undefined ? {} : { platform }),
      onProgress: (event) => {
        if (quiet || event.kind !== "layer") return;
        const short = shortDigest(event.digest);
        if (event.status === "exists") context.stdout.write(`${short}: Layer already exists\n`);
        else if (event.status === "mounted") context.stdout.write(`${short}: Mounted from another repository\n`);
        else if (event.status === "pushed") context.stdout.write(`${short}: Pushed\n`);
      },
    });
    context.stdout.write(quiet ? `${result.digest}\n` : `${reference.tag}: digest: ${result.digest} size: ${result.size}\n`);
    return 0;
  },
};
