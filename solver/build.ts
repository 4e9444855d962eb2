import { readFile, writeFile } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import { TsbuildError } from "../errors.js";
import type { ResourceLimits, SecretSource, SshSource } from "../executor/types.js";
import { convertDockerfile } from "../frontend/convert-dockerfile.js";
import { dockerignorePaths, parseDockerignore } from "../frontend/dockerignore.js";
import type { BuildWarning } from "../frontend/graph.js";
import { parseInstructions } from "../frontend/instructions/parse-instructions.js";
import { formatPlatform, normalizePlatform, parsePlatform, samePlatform } from "../frontend/platform.js";
import type { Digest } from "../oci/digest.js";
import type { ImageConfig } from "../oci/image-types.js";
import { OCI_MEDIA_TYPES } from "../oci/media-types.js";
import { parseDockerfile } from "../parser/parse-dockerfile.js";
import { hostPlatform } from "../worker/resolve-image.js";
import { pushImage, type PushImageResult } from "../registry/push-image.js";
import type { RegistryAccessOptions } from "../registry/open-registry-client.js";
import { Worker as RootWorker } from "../worker/worker.js";
import { exportCache, type ExportedCache } from "./cache-export.js";
import { ImportingCacheIndex, readImportedCaches } from "./cache-import.js";
import { CacheIndex } from "./cache-index.js";
import type { CacheLocationSpec } from "./cache-location.js";
import { checkEntitlements, type Entitlement } from "./check-entitlements.js";
import { ContextDigests } from "./context-digests.js";
import { exportImage } from "./export-image.js";
import { exportLocal } from "./export-local.js";
import { openBuildWorker } from "./open-build-worker.js";
import { solveGraph, type StepReport } from "./solve-graph.js";
import type { ProgressListener, Worker } from "./types.js";

export interface BuildOptions {
  /** The build context directory. */
  context: string;
  /** The Dockerfile's path; default `<context>/Dockerfile`. */
  dockerfile?: string;
  /** `-t`: names for the image; none leaves it dangling. */
  tags?: string[];
  buildArgs?: Record<string, string>;
  target?: string;
  /** `--no-cache`: every stage, or the named ones. */
  noCache?: boolean | string[];
  network?: "default" | "none" | "host";
  labels?: Record<string, string>;
  /** `--secret`: where each secret id's bytes come from. */
  secrets?: Record<string, SecretSource>;
  /** `--ssh`: the ssh agent each id of `RUN --mount=type=ssh` reaches (`{ default: { socket: process.env.SSH_AUTH_SOCK } }`). */
  ssh?: Record<string, SshSource>;
  /** `--allow`: entitlements; `security.insecure` lets `RUN --security=insecure` run. */
  allow?: Entitlement[];
  /** Named contexts (`--build-context name=DIR`). */
  contexts?: Record<string, string>;
  /** The tsbuild root (default $TSBUILD_ROOT, else /var/lib/tsbuild as root). Ignored when `worker` is given. */
  root?: string;
  /** A worker to build with (tests, embedders); default: one over `root`. */
  worker?: Worker;
  signal?: AbortSignal;
  onProgress?: ProgressListener;
  /** Steps running at once; default the core count. */
  concurrency?: number;
  /** Memory, pids and CPU limits for every RUN (`--memory`, `--pids-limit`, `--cpus`); where the host's cgroups allow. */
  limits?: ResourceLimits;
  /** Write the image id here (`--iidfile`). */
  iidfile?: string;
  /** Write buildx's metadata JSON here (`--metadata-file`). */
  metadataFile?: string;
  /**
   * `--output`: also copy the final file system into a directory (`local`), or write the
   * image as a docker-archive or OCI archive file (`docker`, `oci`).
   */
  output?: { type: "local" | "docker" | "oci"; dest: string };
  /** Base images the store lacks: `missing` (default) pulls them, `always` checks the registry every time (`--pull`), `never` fails. */
  pull?: "missing" | "always" | "never";
  /** `--platform`: only this host's platform can be built (there is no emulation). */
  platform?: string;
  /** `--cache-from`: build caches to import (a location that cannot be read is a warning). */
  cacheFrom?: CacheLocationSpec[];
  /** `--cache-to`: where to export this build's cache (mode=min by default). */
  cacheTo?: CacheLocationSpec[];
  /** `--push`: push every name in `tags` after the build. */
  push?: boolean;
  /** How cache import/export and `push` reach registries (credentials, insecure registries). */
  registry?: RegistryAccessOptions;
  /** The environment `root` is resolved in. Default process.env. */
  env?: Record<string, string | undefined>;
}

export interface BuildResult {
  /** The image id: its config's digest. */
  imageId: Digest;
  manifestDigest: Digest;
  /** The full names it was tagged with. */
  names: string[];
  config: ImageConfig;
  /** Every step, in the order it was reported, with its cache status and duration. */
  steps: StepReport[];
  warnings: BuildWarning[];
  /** With `cacheTo`: what each export wrote. */
  cacheExports?: ExportedCache[];
  /** With `push`: what each name was pushed as. */
  pushed?: PushImageResult[];
  durationMs: number;
}

/**
 * Builds a Dockerfile into an image in the store, as `docker build` would: parse, convert to
 * a graph, solve it against the build cache, export the image and tag it.
 *
 * @example
 * const result = await build({ context: ".", tags: ["app:1.0"], onProgress: (e) => console.log(e.type) });
 * console.log(result.imageId, result.steps.filter((s) => s.status === "cached").length);
 */
export async function build(options: BuildOptions): Promise<BuildResult> {
  const started = performance.now();
  const context = resolve(options.context);
  const dockerfile = resolve(options.dockerfile ?? join(context, "Dockerfile"));
  const text = await readFile(dockerfile, "utf8").catch((error: NodeJS.ErrnoException) => {
    const reason = error.code === "ENOENT" ? "no such file" : error.code === "EISDIR" ? "it is a directory" : error.message;
    throw new TsbuildError("FILE_NOT_FOUND", `Cannot read Dockerfile "${dockerfile}": ${reason}`, { cause: error });
  });
  const file = basename(dockerfile);
  const ast = parseDockerfile(text, { file });
  const instructions = parseInstructions(ast);
  const dockerignore = await readDockerignore(dockerfile, context);

  const opened =
    options.worker === undefined
      ? await openBuildWorker({
          ...(options.root === undefined ? {} : { root: options.root }),
          ...(options.env === undefined ? {} : { env: options.env }),
          ...(options.pull === undefined ? {} : { pull: options.pull }),
        })
      : undefined;
  const worker = options.worker ?? opened!.worker;
  try {
    const host = hostPlatform();
    const platform = { os: host.os, architecture: host.architecture };
    if (options.platform !== undefined) {
      const asked = parsePlatform(options.platform, platform);
      if (asked === undefined) throw new TsbuildError("USAGE", `Cannot parse flag "--platform": "${options.platform}" is not a platform`, { hint: "Use os/arch, such as linux/amd64" });
      if (!samePlatform(asked, normalizePlatform(platform))) {
        throw new TsbuildError("USAGE", `Cannot build for "${formatPlatform(asked)}": only this host's platform "${formatPlatform(platform)}" can be built`, {
          hint: "tsbuild runs steps natively, without emulation",
        });
      }
    }
    const graph = await convertDockerfile(instructions, {
      resolver: worker.images,
      file,
      escapeToken: ast.escapeToken,
      platform,
      ...(options.buildArgs === undefined ? {} : { buildArgs: options.buildArgs }),
      ...(options.target === undefined ? {} : { target: options.target }),
      ...(options.labels === undefined ? {} : { labels: options.labels }),
      ...(options.noCache === undefined ? {} : { noCache: options.noCache }),
      ...(options.network === undefined ? {} : { network: options.network }),
      dockerignore,
      contexts: Object.fromEntries(Object.keys(options.contexts ?? {}).map((name) => [name, { kind: "local" as const, name }])),
    });
    checkEntitlements(graph, options.allow ?? []);
    for (const warning of graph.warnings) {
      options.onProgress?.({ type: "warning", code: warning.code, message: warning.message, location: warning.location });
    }
    const onCacheWarning = (message: string) => {
      const warning = { code: "cache-import", message, location: undefined };
      graph.warnings.push(warning);
      options.onProgress?.({ type: "warning", ...warning });
    };
    const imported = options.cacheFrom === undefined || options.cacheFrom.length === 0 ? [] : await readImportedCaches(options.cacheFrom, { store: worker.store, onWarning: onCacheWarning, ...(options.registry === undefined ? {} : { registry: options.registry }) });
    const cache = imported.length === 0 ? new CacheIndex(worker.store, worker.snapshotter) : new ImportingCacheIndex(worker, imported, { onWarning: onCacheWarning });
    const lease = await worker.store.refs.acquireLease();
    const digests = await ContextDigests.load(worker.store, context);
    try {
      const solved = await solveGraph(graph, {
        worker,
        cache,
        lease,
        contexts: { ...(options.contexts ?? {}), context },
        historyScope: `${context}\0${dockerfile}`,
        digests,
        ...(options.secrets === undefined ? {} : { secrets: options.secrets }),
        ...(options.ssh === undefined ? {} : { ssh: options.ssh }),
        allowInsecure: (options.allow ?? []).includes("security.insecure"),
        ...(options.signal === undefined ? {} : { signal: options.signal }),
        ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
        ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
        ...(options.limits === undefined ? {} : { limits: options.limits }),
      });
      const exported = await exportImage(graph, {
        worker,
        cache,
        keys: solved.keys,
        snapshots: solved.snapshots,
        ...(options.tags === undefined ? {} : { names: options.tags }),
        ...(graph.epoch === undefined ? {} : { epoch: graph.epoch }),
      });
      if (options.output?.type === "local") await exportLocal(graph, resolve(options.output.dest), { worker, cache, keys: solved.keys, snapshots: solved.snapshots });
      if (options.output?.type === "docker" || options.output?.type === "oci") {
        await worker.images.save(exported.names.length > 0 ? exported.names : [exported.imageId], {
          output: resolve(options.output.dest),
          format: options.output.type,
          ...(graph.epoch === undefined ? {} : { sourceDateEpoch: graph.epoch }),
          ...(options.signal === undefined ? {} : { signal: options.signal }),
        });
      }
      const cacheExports: ExportedCache[] = [];
      for (const spec of options.cacheTo ?? []) {
        cacheExports.push(await exportCache(graph, spec, {
          worker,
          cache,
          keys: solved.keys,
          ...(graph.epoch === undefined ? {} : { epoch: graph.epoch }),
          ...(options.registry === undefined ? {} : { registry: options.registry }),
        }));
      }
      const pushed: PushImageResult[] = [];
      if (options.push) {
        if (exported.names.length === 0) throw new TsbuildError("USAGE", "Cannot push the image: it has no name", { hint: "Name it with -t NAME" });
        const rootWorker = opened?.root ?? new RootWorker(worker.store);
        for (const name of exported.names) pushed.push(await pushImage(rootWorker, name, { ...(options.registry ?? {}), ...(options.signal === undefined ? {} : { signal: options.signal }) }));
      }
      if (options.iidfile !== undefined) await writeFile(options.iidfile, exported.imageId);
      if (options.metadataFile !== undefined) {
        // Pushed, the image is known by the manifest the registry got (its layers compressed), as BuildKit reports it.
        const manifest = pushed[0] ?? { digest: exported.manifestDigest, size: (await worker.store.content.stat(exported.manifestDigest))?.size ?? 0 };
        const metadata = {
          "containerimage.config.digest": exported.imageId,
          "containerimage.descriptor": { mediaType: OCI_MEDIA_TYPES.manifest, digest: manifest.digest, size: manifest.size },
          "containerimage.digest": manifest.digest,
          ...(exported.names.length > 0 ? { "image.name": exported.names.join(",") } : {}),
        };
        await writeFile(options.metadataFile, `${JSON.stringify(metadata, null, 2)}\n`);
      }
      return {
        imageId: exported.imageId,
        manifestDigest: exported.manifestDigest,
        names: exported.names,
        config: exported.config,
        steps: solved.steps,
        warnings: graph.warnings,
        ...(options.cacheTo === undefined ? {} : { cacheExports }),
        ...(options.push ? { pushed } : {}),
        durationMs: performance.now() - started,
      };
    } finally {
      await digests.save(worker.store, context).catch(() => undefined);
      await lease.release().catch(() => undefined);
    }
  } finally {
    await opened?.close();
  }
}

/** `<Dockerfile>.dockerignore` or the context's `.dockerignore`, first found, as patterns. */
async function readDockerignore(dockerfile: string, context: string): Promise<string[]> {
  for (const path of dockerignorePaths({ dockerfile, context })) {
    const text = await readFile(path, "utf8").catch(() => undefined);
    if (text !== undefined) return parseDockerignore(text);
  }
  return [];
}
