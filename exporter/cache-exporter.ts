import type { RegistryAccessOptions } from "../registry/open-registry-client.js";
import { exportCache, type ExportCacheOptions, type ExportedCache } from "../solver/cache-export.js";
import type { CacheLocationSpec } from "../solver/cache-location.js";
import type { ExportContext, Exporter, SolvedBuild } from "./exporter.js";

/** `--cache-to`: the build cache to a registry repository or an OCI layout directory. */
export class CacheExporter implements Exporter<ExportedCache> {
  readonly phase = "cache-export" as const;
  readonly name: string;
  readonly #spec: CacheLocationSpec;
  readonly #registry: RegistryAccessOptions | undefined;
  readonly #stepHistory: ExportCacheOptions["stepHistory"];

  constructor(spec: CacheLocationSpec, options: { registry?: RegistryAccessOptions | undefined; stepHistory?: ExportCacheOptions["stepHistory"] } = {}) {
    this.#spec = spec;
    this.#registry = options.registry;
    this.#stepHistory = options.stepHistory;
    this.name = `exporting cache to ${spec.type === "registry" ? spec.ref : spec.dir}`;
  }

  async export(build: SolvedBuild, context: ExportContext): Promise<ExportedCache> {
    const exported = await exportCache(build.graph, this.#spec, {
      ...(build.platforms === undefined ? {} : { outputs: build.platforms.map((platform) => platform.graph.output) }),
      worker: build.worker,
      cache: build.cache,
      keys: build.keys,
      ...(build.epoch === undefined ? {} : { epoch: build.epoch }),
      ...(this.#registry === undefined ? {} : { registry: this.#registry }),
      ...(this.#stepHistory === undefined ? {} : { stepHistory: this.#stepHistory }),
      signal: context.signal,
      onBlob: (_digest, sent) => context.progress({ id: "exporting blobs", action: "export", current: sent.bytes, total: sent.total, unit: "bytes", ...(sent.bytes === sent.total ? { done: true } : {}) }),
    });
    return exported;
  }
}
