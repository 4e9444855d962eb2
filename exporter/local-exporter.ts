import { join } from "node:path";
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

  async export(build: SolvedBuild): Promise<void> {
    const options = { worker: build.worker, cache: build.cache, keys: build.keys, snapshots: build.snapshots };
    if (build.platforms === undefined || build.platforms.length < 2) return exportLocal(build.graph, this.#dest, options);
    // BuildKit's platform split: a directory per platform, `linux_arm64`, `linux_arm_v7`.
    for (const { platform, graph } of build.platforms) await exportLocal(graph, join(this.#dest, platform.replaceAll("/", "_")), options);
  }
}
