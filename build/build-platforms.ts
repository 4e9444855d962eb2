import { TsbuildError } from "../errors.js";
import type { BuildGraph, BuildWarning, Vertex } from "../frontend/graph.js";
import { formatPlatform, normalizePlatform, parsePlatform, type PlatformSpec } from "../frontend/platform.js";
import { hostPlatform } from "../oci/host-platform.js";
import { rootInputOf } from "../solver/root-input.js";

/** What a build is for: the platform it runs on and the platforms its images are for. */
export interface BuildPlatforms {
  /** BUILDPLATFORM: this host's. */
  build: PlatformSpec;
  /** TARGETPLATFORM of each image, in the order asked; one unless `--platform` named several. */
  targets: PlatformSpec[];
}

/**
 * `--platform`: one platform, several (`linux/amd64,linux/arm64`, or a list), or none (this
 * host's). A platform named twice is built once. Whether this host can run a platform's
 * steps is checked when one runs (a build served from the cache needs no emulator).
 */
export function parseBuildPlatforms(wanted: string | readonly string[] | undefined): BuildPlatforms {
  const host = hostPlatform();
  const build = normalizePlatform({ os: host.os, architecture: host.architecture });
  const texts = (typeof wanted === "string" ? [wanted] : (wanted ?? [])).flatMap((text) => text.split(",")).map((text) => text.trim());
  if (texts.length === 0) return { build, targets: [build] };
  const targets: PlatformSpec[] = [];
  for (const text of texts) {
    const platform = text === "" ? undefined : parsePlatform(text, build);
    if (platform === undefined) {
      throw new TsbuildError("USAGE", `Cannot parse flag "--platform": "${text}" is not a platform`, { hint: "Use os/arch[/variant], such as linux/arm64, or several: linux/amd64,linux/arm64" });
    }
    if (!targets.some((known) => formatPlatform(known) === formatPlatform(platform))) targets.push(platform);
  }
  return { build, targets };
}

/** One target platform's graph, its vertex ids those of the merged graph. */
export interface PlatformGraph {
  platform: PlatformSpec;
  graph: BuildGraph;
}

/** The graphs of a build for one or several platforms. */
export interface PlatformGraphs {
  /** Each target platform's graph, in the order of the targets. */
  platforms: PlatformGraph[];
  /** What the solver solves: every platform's vertices, identical ones once (a native stage shared by all); its output is the first platform's. */
  merged: BuildGraph;
  /** Each platform's output vertex, in the order of `platforms`. */
  outputs: string[];
}

/**
 * Converts the Dockerfile once per target platform, as BuildKit's frontend does, and merges
 * the graphs so one solve builds them all: a vertex identical in two platforms' graphs (a
 * `FROM --platform=$BUILDPLATFORM` stage that does not read TARGETARCH, the build context)
 * is one vertex, so it runs once; the others run side by side. With several platforms, step
 * names say their platform as BuildKit's do (`[linux/arm64 build 2/3] RUN make`), and so
 * does their stage, which keeps each platform's step history apart.
 */
export async function convertForPlatforms(targets: readonly PlatformSpec[], convert: (target: PlatformSpec) => Promise<BuildGraph>): Promise<PlatformGraphs> {
  // One after another: the second finds the base images the first resolved in the store.
  const graphs: BuildGraph[] = [];
  for (const target of targets) graphs.push(await convert(target));
  if (graphs.length === 1) return { platforms: [{ platform: targets[0], graph: graphs[0] }], merged: graphs[0], outputs: [graphs[0].output] };

  const merged: Vertex[] = [];
  const byIdentity = new Map<string, Vertex>();
  const platformOf = new Map<string, string | undefined>();
  const platforms = graphs.map((graph, index): PlatformGraph => {
    const ids = new Map<string, Vertex>();
    const own: Vertex[] = [];
    for (const vertex of graph.vertices) {
      const inputs = vertex.inputs.map((id) => ids.get(id)!.id);
      const platform = vertexPlatform(vertex, inputs, platformOf);
      const renamed = { ...vertex, inputs, name: withPlatform(vertex.name, platform), stage: platform === undefined ? vertex.stage : [platform, vertex.stage].filter(Boolean).join(" ") };
      const identity = JSON.stringify([renamed.name, renamed.stage, renamed.location, renamed.inputs, renamed.definition, renamed.proxyEnv ?? null, renamed.ignoreCache]);
      let found = byIdentity.get(identity);
      if (found === undefined) {
        found = { ...renamed, id: String(merged.length) };
        merged.push(found);
        byIdentity.set(identity, found);
        platformOf.set(found.id, platform);
      }
      ids.set(vertex.id, found);
      if (!own.includes(found)) own.push(found);
    }
    return { platform: targets[index], graph: { ...graph, vertices: own, output: ids.get(graph.output)!.id } };
  });
  const first = platforms[0].graph;
  return {
    platforms,
    merged: {
      ...first,
      vertices: merged,
      warnings: uniqueWarnings(graphs.flatMap((graph) => graph.warnings)),
      secrets: requirements(graphs.map((graph) => graph.secrets)),
      ssh: requirements(graphs.map((graph) => graph.ssh)),
    },
    outputs: platforms.map((platform) => platform.graph.output),
  };
}

/** The platform a vertex runs as: a RUN's own, a source image's or scratch's, a file op's base's; none for a context, download or clone. */
function vertexPlatform(vertex: Vertex, inputs: readonly string[], known: ReadonlyMap<string, string | undefined>): string | undefined {
  const { definition } = vertex;
  if (definition.op === "exec") return definition.platform;
  if (definition.op === "file") return known.get(inputs[rootInputOf(definition)]);
  return definition.kind === "image" || definition.kind === "scratch" ? definition.platform : undefined;
}

/** `[build 2/3] RUN make` → `[linux/arm64 build 2/3] RUN make`, as BuildKit names a multi-platform build's steps. */
function withPlatform(name: string, platform: string | undefined): string {
  if (platform === undefined) return name;
  return name.startsWith("[") ? `[${platform} ${name.slice(1)}` : `[${platform}] ${name}`;
}

function uniqueWarnings(warnings: readonly BuildWarning[]): BuildWarning[] {
  const seen = new Set<string>();
  return warnings.filter((warning) => {
    const key = JSON.stringify([warning.code, warning.message, warning.location?.range.start.line]);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Secret or ssh ids of every platform's graph: required when any platform requires it. */
function requirements(lists: ReadonlyArray<ReadonlyArray<{ id: string; required: boolean }>>): Array<{ id: string; required: boolean }> {
  const byId = new Map<string, boolean>();
  for (const list of lists) for (const { id, required } of list) byId.set(id, (byId.get(id) ?? false) || required);
  return [...byId].map(([id, required]) => ({ id, required }));
}

/** The exporters' view of a multi-platform build (`SolvedBuild.platforms`); nothing for one platform. */
export function platformBuilds(graphs: PlatformGraphs): { platforms?: Array<{ platform: string; graph: BuildGraph }> } {
  if (graphs.platforms.length < 2) return {};
  return { platforms: graphs.platforms.map(({ platform, graph }) => ({ platform: formatPlatform(platform), graph })) };
}
