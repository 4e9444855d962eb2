import { exportLocal } from "../solver/export-local.js";
import type { Exporter, SolvedBuild } from "./exporter.js";

/** `--output type=local,dest=DIR`: the output's file system copied into a directory. */
export class LocalExporter implements Exporter<void> {
  readonly phase = "export" as const;
  readonly name: string;
  readonly #dest: string;

  constructor(dest: string) {
    this.#dest = dest;
    this.name = `copying files to ${dest}`;
  }

  export(build: SolvedBuild): Promise<void> {
    return exportLocal(build.graph, this.#dest, { worker: build.worker, cache: build.cache, keys: build.keys, snapshots: build.snapshots });
  }
}
