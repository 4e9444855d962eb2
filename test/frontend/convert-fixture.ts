import { TsbuildError } from "../../errors.js";
import type { ImageConfig } from "../../oci/image-types.js";
import { parseDockerfile } from "../../parser/parse-dockerfile.js";
import { convertDockerfile, type ConvertOptions } from "../../frontend/convert-dockerfile.js";
import type { BuildGraph, ExecDefinition, FileDefinition, ImageConfigResolver, Vertex } from "../../frontend/graph.js";
import { parseInstructions } from "../../frontend/instructions/parse-instructions.js";

/** A digest-like pin the fake resolver gives every image. */
export const PIN = `sha256:${"ab".repeat(32)}` as const;
export const ALPINE_LAYER = `sha256:${"11".repeat(32)}` as const;

/** An alpine-like image config: one layer, PATH and CMD set. */
export function alpineConfig(overrides: Partial<ImageConfig["config"]> = {}): ImageConfig {
  return {
    architecture: "amd64",
    os: "linux",
    config: { Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], Cmd: ["/bin/sh"], ...overrides },
    rootfs: { type: "layers", diff_ids: [ALPINE_LAYER] },
    history: [
      { created_by: "ADD alpine-minirootfs.tar.gz / # buildkit", comment: "buildkit.dockerfile.v0" },
      { created_by: 'CMD ["/bin/sh"]', comment: "buildkit.dockerfile.v0", empty_layer: true },
    ],
  };
}

/** A resolver over a fixed set of images (by normalised reference); it records what was asked. */
export function fakeResolver(images: Record<string, ImageConfig>): ImageConfigResolver & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    async resolveImageConfig(ref) {
      calls.push(ref);
      const config = images[ref];
      if (!config) throw new TsbuildError("NOT_FOUND", `Image "${ref}" not found`);
      return { ref: `${ref}@${PIN}`, config: structuredClone(config) };
    },
  };
}

export const DEFAULT_IMAGES: Record<string, ImageConfig> = {
  "docker.io/library/alpine:3.19": alpineConfig(),
  "docker.io/library/alpine:latest": alpineConfig(),
  "docker.io/library/golang:1.22": alpineConfig({ Env: ["PATH=/usr/local/go/bin:/usr/bin:/bin", "GOPATH=/go"], WorkingDir: "/go" }),
};

/** Parses Dockerfile text with the real parser and converts it. */
export async function convert(
  text: string,
  options: Partial<ConvertOptions> & { images?: Record<string, ImageConfig> } = {},
): Promise<BuildGraph & { resolver: ReturnType<typeof fakeResolver> }> {
  const ast = parseDockerfile(text, { file: "Dockerfile" });
  const resolver = fakeResolver(options.images ?? DEFAULT_IMAGES);
  const graph = await convertDockerfile(parseInstructions(ast), { resolver, escapeToken: ast.escapeToken, file: "Dockerfile", ...options });
  return { ...graph, resolver };
}

export function vertexNamed(graph: BuildGraph, name: string): Vertex {
  const vertex = graph.vertices.find((v) => v.name === name);
  if (!vertex) throw new Error(`no vertex named ${JSON.stringify(name)}; have ${JSON.stringify(graph.vertices.map((v) => v.name))}`);
  return vertex;
}

/** The exec definitions of the graph, in order. */
export function execs(graph: BuildGraph): (Vertex & { definition: ExecDefinition })[] {
  return graph.vertices.filter((v): v is Vertex & { definition: ExecDefinition } => v.definition.op === "exec");
}

export function files(graph: BuildGraph): (Vertex & { definition: FileDefinition })[] {
  return graph.vertices.filter((v): v is Vertex & { definition: FileDefinition } => v.definition.op === "file");
}

export function vertexById(graph: BuildGraph, id: string): Vertex {
  const vertex = graph.vertices.find((v) => v.id === id);
  if (!vertex) throw new Error(`no vertex ${id}`);
  return vertex;
}

/** Runs `fn` and returns what it rejected with, failing when it resolves. */
export async function rejection(fn: () => Promise<unknown>): Promise<any> {
  try {
    await fn();
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection");
}
