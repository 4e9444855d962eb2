import { TsbuildError } from "../errors.js";
import type { ExportedImage } from "../solver/export-image.js";
import type { ExportContext, Exporter, SolvedBuild } from "./exporter.js";

/** `--output type=docker|oci,dest=FILE`: the image written as a docker-archive or OCI archive. */
export class ArchiveExporter implements Exporter<void> {
  readonly phase = "export" as const;
  readonly name: string;
  readonly #format: "docker" | "oci";
  readonly #dest: string;

  constructor(format: "docker" | "oci", dest: string) {
    this.#format = format;
    this.#dest = dest;
    this.name = `exporting to ${format} archive ${dest}`;
  }

  async export(build: SolvedBuild, context: ExportContext & { image: ExportedImage | undefined }): Promise<void> {
    const { image } = context;
    if (image === undefined) throw new TsbuildError("INTERNAL", "An archive is written from the exported image");
    await build.worker.images.save(image.names.length > 0 ? image.names : [image.imageId], {
      output: this.#dest,
      format: this.#format,
      ...(build.epoch === undefined ? {} : { sourceDateEpoch: build.epoch }),
      signal: context.signal,
    });
    context.progress({ id: this.#dest, action: "save", current: 1, total: 1, unit: "items", done: true });
  }
}
