import { TsbuildError } from "../errors.js";
import type { RegistryAccessOptions } from "../registry/open-registry-client.js";
import { pushImage, type PushImageResult } from "../registry/push-image.js";
import type { ExportedImage } from "../solver/export-image.js";
import type { Worker as RootWorker } from "../worker/worker.js";
import type { ExportContext, Exporter } from "./exporter.js";

/** `--push`: every name of the exported image pushed to its registry, with per-blob progress. */
export class PushExporter implements Exporter<PushImageResult[]> {
  readonly phase = "push" as const;
  readonly name = "pushing the image";
  readonly #root: RootWorker;
  readonly #registry: RegistryAccessOptions | undefined;

  constructor(root: RootWorker, registry: RegistryAccessOptions | undefined) {
    this.#root = root;
    this.#registry = registry;
  }

  async export(_build: unknown, context: ExportContext & { image: ExportedImage | undefined }): Promise<PushImageResult[]> {
    const names = context.image?.names ?? [];
    if (names.length === 0) throw new TsbuildError("USAGE", "Cannot push the image: it has no name", { hint: "Name it with -t NAME" });
    const pushed: PushImageResult[] = [];
    for (const name of names) {
      pushed.push(
        await pushImage(this.#root, name, {
          ...(this.#registry ?? {}),
          signal: context.signal,
          onProgress: (event) =>
            context.progress({ id: event.digest, action: "push", current: event.current, total: event.total, unit: "bytes", ...(event.status === "pushed" || event.status === "exists" || event.status === "mounted" ? { done: true } : {}) }),
        }),
      );
    }
    return pushed;
  }
}
