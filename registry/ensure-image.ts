import { isTsbuildError } from "../errors.js";
import type { Platform } from "../oci/image-types.js";
import { resolveImage, type ResolvedImage } from "../worker/resolve-image.js";
import type { Worker } from "../worker/worker.js";
import { pullImage, type PullImageOptions } from "./pull-image.js";
import { readRegistriesConf } from "./registries-conf.js";
import { searchCandidates } from "./registry-sources.js";

export interface EnsureImageOptions extends Omit<PullImageOptions, "platform"> {
  /**
   * `missing` (default): pull only when the store lacks the image (or its platform);
   * `always`: ask the registry every time (docker's `--pull`), which downloads nothing
   * when the tag still points at what the store has; `never`: the store only.
   */
  pull?: "missing" | "always" | "never";
  platform?: Platform;
}

/**
 * The image a build's `FROM` names, pulled when needed: the build's image resolver.
 *
 * @example
 * const image = await ensureImage(worker, "localhost:5000/base:1", { pull: "missing" });
 * const { top } = await unpackImage(worker, image.manifestDigest);
 */
export async function ensureImage(worker: Worker, reference: string, options: EnsureImageOptions = {}): Promise<ResolvedImage> {
  const mode = options.pull ?? "missing";
  const platform = options.platform === undefined ? {} : { platform: options.platform };
  if (mode !== "always") {
    // A short name may have been pulled from any of registries.conf's search registries.
    const registriesConf = options.registriesConf ?? (await readRegistriesConf(options.env === undefined ? {} : { env: options.env }));
    const candidates = searchCandidates(registriesConf, reference);
    for (const [i, candidate] of candidates.entries()) {
      try {
        return await resolveImage(worker.store, candidate, platform);
      } catch (error) {
        if (!isTsbuildError(error, "NOT_FOUND")) throw error;
        if (mode === "never" && i === candidates.length - 1) throw error;
      }
    }
    options = { ...options, registriesConf };
  }
  const pulled = await pullImage(worker, reference, options);
  return resolveImage(worker.store, pulled.name ?? pulled.digest, platform);
}
