import { basename, join, resolve } from "node:path";
import { applicableLimits } from "../executor/cgroup-delegation.js";
import type { ResourceLimits, SecretSource, SshSource } from "../executor/types.js";
import { isImageIndex } from "../exporter/export-image-index.js";
import type { Exporter, SolvedBuild } from "../exporter/exporter.js";
import { ImageStoreExporter } from "../exporter/image-store-exporter.js";
import { convertDockerfile } from "../frontend/convert-dockerfile.js";
import { dockerignorePaths, parseDockerignore } from "../frontend/dockerignore.js";
import type { BuildGraph, BuildWarning, NamedContext } from "../frontend/graph.js";
import { parseInstructions } from "../frontend/instructions/parse-instructions.js";
import type { Digest } from "../oci/digest.js";
import type { Descriptor, ImageConfig } from "../oci/image-types.js";
import { OCI_MEDIA_TYPES } from "../oci/media-types.js";
import { parseDockerfile } from "../parser/parse-dockerfile.js";
import type { PushImageResult } from "../registry/push-image.js";
import type { RegistryAccessOptions } from "../registry/open-registry-client.js";
import type { ExportedCache } from "../solver/cache-export.js";
import { ImportingCacheIndex, readImportedCaches, type ImportedCache } from "../solver/cache-import.js";
import { CacheIndex } from "../solver/cache-index.js";
import type { CacheLocationSpec } from "../solver/cache-location.js";
import { checkEntitlements, type Entitlement } from "../solver/check-entitlements.js";
import { ContextDigests } from "../solver/context-digests.js";
import { readDockerfile } from "../solver/read-dockerfile.js";
import type { ExportedImage } from "../solver/export-image.js";
import type { ProgressEvent, ProgressListener, StepReport, Worker as SolverWorker } from "../solver/types.js";
import { cancelledError } from "../util/cancelled-error.js";
import { readTextIfExists } from "../util/stat-if-exists.js";
import { Worker as RootWorker } from "../worker/worker.js";
import { buildHistory } from "./build-history.js";
import { convertForPlatforms, parseBuildPlatforms, platformBuilds } from "./build-platforms.js";
import { leasedImageResolver } from "./leased-image-resolver.js";
import { openBuildWorker } from "./open-build-worker.js";
import { solveBuild } from "./solve-build.js";

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
  /** RUN steps without `--network`: `default` is the executor's (a network of its own with outbound access), `host` or `none`. */
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
  /**
   * What to build with: a root's worker (`await openWorker()`), or a solver worker (tests,
   * embedders with an executor or snapshotter of their own). Default: one over `root`.
   */
  worker?: RootWorker | SolverWorker;
  /** Cancels the build; its reason ends up in the CANCELLED error. */
  signal?: AbortSignal;
  onProgress?: ProgressListener;
  /** Steps running at once; default the core count. */
  concurrency?: number;
  /** Memory, pids and CPU limits for every RUN (`--memory`, `--pids-limit`, `--cpus`); where the host's cgroups allow. */
  limits?: ResourceLimits;
  /**
   * `--output`: also copy the final file system into a directory (`local`), or write the
   * image as a docker-archive or OCI archive file (`docker`, `oci`).
   */
  output?: { type: "local" | "docker" | "oci"; dest: string };
  /** Base images the store lacks: `missing` (default) pulls them, `always` checks the registry every time (`--pull`), `never` fails. */
  pull?: "missing" | "always" | "never";
  /**
   * `--platform`: the platform the image is for (default this host's), or several
   * (`linux/amd64,linux/arm64`, or a list) for an OCI image index over one image per
   * platform. Other architectures' steps run under QEMU user emulation (binfmt_misc).
   */
  platform?: string | string[];
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
  /** See `DryRunOptions`. */
  dryRun?: false;
}

export interface BuildResult {
  /** The image id: its config's digest. */
  imageId: Digest;
  manifestDigest: Digest;
  /** The manifest's descriptor (media type, digest, size). */
  manifest: Descriptor;
  /** The full names it was tagged with. */
  names: string[];
  /** The image config (of a multi-platform build: the first platform's). */
  config: ImageConfig;
  /** A multi-platform build: each platform's image; `imageId` and `manifestDigest` are then the index's digest. */
  platforms?: Array<{ platform: string; imageId: Digest; manifestDigest: Digest; config: ImageConfig }>;
  /** Every step, in the order it was reported, with its cache status and duration. */
  steps: StepReport[];
  warnings: BuildWarning[];
  /** With `cacheTo`: what each export wrote. */
  cacheExports?: ExportedCache[];
  /** With `push`: what each name was pushed as. */
  pushed?: PushImageResult[];
  /** Whole milliseconds. */
  durationMs: number;
}

/** `dryRun: true`: work out the cache keys and what would run; outputs, tags and pushes are left alone. */
export interface DryRunOptions extends Omit<BuildOptions, "dryRun"> {
  dryRun: true;
}

/** What a dry run found: per step, cached or would run, and why. */
export interface BuildPlan {
  /** Each step the output needs, inputs first: `cached`, or `would-run` with its miss reason. */
  steps: StepReport[];
  warnings: BuildWarning[];
  durationMs: number;
}

/**
 * Builds a Dockerfile into an image in the store, as `docker build` would: parse, convert to
 * a graph, solve it against the build cache, then export (the image store first, then each
 * output asked for). With `dryRun: true` it only works out the cache keys and says, per step,
 * whether it is cached or would run and why: nothing runs and no layer is written.
 *
 * @example
 * const result = await build({ context: ".", tags: ["app:1.0"], onProgress: (e) => console.log(e.type) });
 * console.log(result.imageId, result.steps.filter((s) => s.status === "cached").length);
 */
export function build(options: DryRunOptions): Promise<BuildPlan>;
export function build(options: BuildOptions): Promise<BuildResult>;
export async function build(options: BuildOptions | DryRunOptions): Promise<BuildResult | BuildPlan> {
  const started = performance.now();
  const emit = (event: ProgressEvent): void => {
    try {
      options.onProgress?.(event);
    } catch {
      // A listener's bug must not break the build.
    }
  };
  const dryRun = options.dryRun === true;
  const full = options;
  const context = resolve(options.context);
  const { path: dockerfile, text } = await readDockerfile(resolve(options.dockerfile ?? join(context, "Dockerfile")));
  const file = basename(dockerfile);
  const ast = parseDockerfile(text, { file });
  const instructions = parseInstructions(ast);
  const dockerignore = await readDockerignore(dockerfile, context);
  const platforms = parseBuildPlatforms(options.platform);

  const given = options.worker;
  const opened =
    given === undefined || given instanceof RootWorker
      ? await openBuildWorker({
          ...(given === undefined ? {} : { worker: given }),
          ...(options.root === undefined ? {} : { root: options.root }),
          ...(options.env === undefined ? {} : { env: options.env }),
          ...(options.pull === undefined ? {} : { pull: options.pull }),
        })
      : undefined;
  const worker = opened?.worker ?? (given as SolverWorker);
  try {
    // From the first base image resolved to the last export: what the build reads and makes
    // is held, so a concurrent prune or rmi may untag but never remove it.
    const lease = await worker.store.refs.acquireLease();
    let digests: ContextDigests | undefined;
    // Remembered digests only save hashing next time: a failure to save them is not the build's.
    const saveDigests = () => digests?.save(worker.store, context).catch(() => undefined);
    let saved: Promise<void> | undefined;
    let stepsDone: Promise<void> | undefined;
    let layers: Promise<void> | undefined;
    let released: Promise<void> | undefined;
    let watchLayers: SolvedBuild["watchLayers"];
    try {
      const resolver = leasedImageResolver(worker.images, lease, worker.store, { ...(options.signal === undefined ? {} : { signal: options.signal }), onProgress: emit });
      const named = await namedContexts(options.contexts ?? {});
      const graphs = await convertForPlatforms(platforms.targets, (targetPlatform) => convertDockerfile(instructions, {
        resolver,
        file,
        escapeToken: ast.escapeToken,
        platform: platforms.build,
        targetPlatform,
        ...(options.buildArgs === undefined ? {} : { buildArgs: options.buildArgs }),
        ...(options.target === undefined ? {} : { target: options.target }),
        ...(options.labels === undefined ? {} : { labels: options.labels }),
        ...(options.noCache === undefined ? {} : { noCache: options.noCache }),
        ...(options.network === undefined ? {} : { network: options.network }),
        dockerignore,
        contexts: named,
      }));
      const graph = graphs.merged;
      checkEntitlements(graph, options.allow ?? []);
      for (const warning of graph.warnings) emit({ type: "warning", code: warning.code, message: warning.message, location: warning.location });
      // Rootless without a delegated cgroup: said once here, not as an error in every RUN.
      const limits = await applicableLimits(options.limits);
      if (limits.warning !== undefined) emit({ type: "warning", code: "limits-not-applied", message: limits.warning, location: undefined });
      const { cache, imported } = await openCache(graph, worker, options, emit);
      const history = buildHistory(graph, worker.store, { scope: `${context}\0${dockerfile}`, dockerfile: file, imported });
      digests = await ContextDigests.load(worker.store, context);
      const solved = await solveBuild(graph, {
        worker,
        cache,
        lease,
        contexts: { ...(options.contexts ?? {}), context },
        explainer: history.explainer,
        digests,
        dryRun,
        outputs: graphs.outputs,
        ...(options.secrets === undefined ? {} : { secrets: options.secrets }),
        ...(options.ssh === undefined ? {} : { ssh: options.ssh }),
        allowInsecure: (options.allow ?? []).includes("security.insecure"),
        ...(options.signal === undefined ? {} : { signal: options.signal }),
        onProgress: emit,
        ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
        ...(limits.limits === undefined ? {} : { limits: limits.limits }),
      });
      layers = solved.layers;
      released = solved.released;
      watchLayers = solved.watchLayers;
      // Every context file has been read by now: its digests are remembered while the export
      // waits for the last layers, not after it (20,000 files: ~40 ms at the end).
      saved = saveDigests();
      // And the sandboxes' networks end while the export runs (their processes take a while to go).
      stepsDone = opened?.stepsDone();
      stepsDone?.catch(() => undefined); // awaited (and its failure reported) at the end
      if (dryRun) {
        await released;
        return { steps: solved.steps, warnings: graph.warnings, durationMs: elapsed(started) };
      }

      const solvedBuild: SolvedBuild = { graph, worker, cache, keys: solved.keys, snapshots: solved.snapshots, epoch: graph.epoch, layers, ...(watchLayers === undefined ? {} : { watchLayers }), ...platformBuilds(graphs) };
      const exporting = new ExportRun(solvedBuild, emit, options.signal);
      const image = await exporting.run(new ImageStoreExporter(full.tags ?? []), undefined);
      // Exporters past the image store are loaded when asked for: a plain build starts sooner.
      if (full.output?.type === "local") {
        const { LocalExporter } = await import("../exporter/local-exporter.js");
        await exporting.run(new LocalExporter(resolve(full.output.dest)), image);
      }
      if (full.output?.type === "docker" || full.output?.type === "oci") {
        const { ArchiveExporter } = await import("../exporter/archive-exporter.js");
        await exporting.run(new ArchiveExporter(full.output.type, resolve(full.output.dest)), image);
      }
      const cacheExports: ExportedCache[] = [];
      for (const spec of full.cacheTo ?? []) {
        const { CacheExporter } = await import("../exporter/cache-exporter.js");
        cacheExports.push(await exporting.run(new CacheExporter(spec, { registry: options.registry, stepHistory: history.exported }), image));
      }
      const { PushExporter } = full.push ? await import("../exporter/push-exporter.js") : { PushExporter: undefined };
      const pushed = PushExporter !== undefined ? await exporting.run(new PushExporter(opened?.root ?? new RootWorker(worker.store), options.registry), image) : undefined;
      // A view that would not unmount fails a build that otherwise went well.
      await released;
      const manifest = await worker.store.content.stat(image.manifestDigest);
      const durationMs = elapsed(started);
      emit({ type: "result", imageId: image.imageId, manifestDigest: image.manifestDigest, names: image.names, durationMs });
      return {
        imageId: image.imageId,
        manifestDigest: image.manifestDigest,
        manifest: { mediaType: isImageIndex(image) ? OCI_MEDIA_TYPES.index : OCI_MEDIA_TYPES.manifest, digest: image.manifestDigest, size: manifest?.size ?? 0 },
        names: image.names,
        config: image.config,
        ...(isImageIndex(image) ? { platforms: image.platforms.map(({ platform, imageId, manifestDigest, config }) => ({ platform, imageId, manifestDigest, config })) } : {}),
        steps: solved.steps,
        warnings: graph.warnings,
        ...(full.cacheTo === undefined ? {} : { cacheExports }),
        ...(pushed === undefined ? {} : { pushed }),
        durationMs,
      };
    } finally {
      await (saved ?? saveDigests());
      // No diff may still read a snapshot once the lease lets go (its failure, if any, was the export's).
      await layers?.catch(() => undefined);
      // Nor a view stay mounted on a snapshot the lease held (a failed export reports its own error).
      await released?.catch(() => undefined);
      // A lease left behind dies with this process.
      await lease.release().catch(() => undefined);
      await stepsDone;
    }
  } finally {
    await opened?.close();
  }
}

/**
 * The build's exporters, run one after another with progress: a `phase-progress` event
 * when each starts, one per part it reports, and one when it is done.
 */
class ExportRun {
  readonly #build: SolvedBuild;
  readonly #emit: (event: ProgressEvent) => void;
  readonly #signal: AbortSignal;

  constructor(build: SolvedBuild, emit: (event: ProgressEvent) => void, signal: AbortSignal | undefined) {
    this.#build = build;
    this.#emit = emit;
    this.#signal = signal ?? new AbortController().signal;
  }

  async run<T>(exporter: Exporter<T>, image: ExportedImage | undefined): Promise<T> {
    if (this.#signal.aborted) throw cancelledError("The build was cancelled", this.#signal);
    this.#emit({ type: "phase-progress", phase: exporter.phase, name: exporter.name, progress: { id: exporter.name, action: "start", current: 0, unit: "items" } });
    const result = await exporter.export(this.#build, {
      signal: this.#signal,
      image,
      progress: (progress) => this.#emit({ type: "phase-progress", phase: exporter.phase, name: exporter.name, progress }),
    });
    this.#emit({ type: "phase-progress", phase: exporter.phase, name: exporter.name, progress: { id: exporter.name, action: "done", current: 1, total: 1, unit: "items", done: true } });
    return result;
  }
}

/** The local cache index, with the `cacheFrom` caches behind it when there are any. */
async function openCache(graph: BuildGraph, worker: SolverWorker, options: BuildOptions | DryRunOptions, emit: (event: ProgressEvent) => void): Promise<{ cache: CacheIndex; imported: ImportedCache[] }> {
  const onWarning = (message: string) => {
    const warning = { code: "cache-import", message, location: undefined };
    graph.warnings.push(warning);
    emit({ type: "warning", ...warning });
  };
  if (options.cacheFrom === undefined || options.cacheFrom.length === 0) return { cache: new CacheIndex(worker.store, worker.snapshotter), imported: [] };
  const name = "importing cache";
  emit({ type: "phase-progress", phase: "cache-import", name, progress: { id: name, action: "start", current: 0, total: options.cacheFrom.length, unit: "items" } });
  const imported = await readImportedCaches(options.cacheFrom, { store: worker.store, onWarning, ...(options.registry === undefined ? {} : { registry: options.registry }) });
  emit({ type: "phase-progress", phase: "cache-import", name, progress: { id: name, action: "import", current: options.cacheFrom.length, total: options.cacheFrom.length, unit: "items", done: true } });
  const cache = imported.length === 0 ? new CacheIndex(worker.store, worker.snapshotter) : new ImportingCacheIndex(worker, imported, { onWarning });
  return { cache, imported };
}

/** Named local contexts, each with the patterns of its own `.dockerignore` (BuildKit's dockerui reads it too). */
async function namedContexts(dirs: Record<string, string>): Promise<Record<string, NamedContext>> {
  const entries = await Promise.all(
    Object.entries(dirs).map(async ([name, dir]) => {
      // No .dockerignore (the usual case) means no patterns, as for the main context.
      const text = await readTextIfExists(join(resolve(dir), ".dockerignore"));
      return [name, { kind: "local" as const, name, excludePatterns: text === undefined ? [] : parseDockerignore(text) }] as const;
    }),
  );
  return Object.fromEntries(entries);
}

/** `<Dockerfile>.dockerignore` or the context's `.dockerignore`, first found, as patterns. */
async function readDockerignore(dockerfile: string, context: string): Promise<string[]> {
  for (const path of dockerignorePaths({ dockerfile, context })) {
    // Missing is the common case; an unreadable one is read as missing, as docker does.
    const text = await readTextIfExists(path);
    if (text !== undefined) return parseDockerignore(text);
  }
  return [];
}

function elapsed(started: number): number {
  return Math.round(performance.now() - started);
}
