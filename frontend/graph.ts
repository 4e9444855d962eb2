import type { SourceRange } from "../parser/ast.js";
import type { ContainerConfig, ImageConfig } from "../oci/image-types.js";
import type { ChmodSpec } from "./chmod.js";
import type { PlatformSpec } from "./platform.js";

/**
 * The build graph: what the frontend hands the solver. One vertex per operation, in the
 * spirit of BuildKit's LLB: `source` (an image, scratch, a local context, a URL, a git
 * repository), `exec` (RUN), `file` (COPY, ADD, WORKDIR's mkdir, inline files).
 *
 * Every vertex has a `definition`: stable, JSON-serialisable data that says exactly what
 * the operation does. Inputs are referred to by their position in `inputs`, never by id,
 * so the solver can digest a definition together with its inputs' cache keys. Secrets
 * appear by id only; proxy variables are kept outside the definition, as BuildKit keeps
 * them out of the cache key.
 */

/** Where an instruction is in the Dockerfile. */
export interface VertexLocation {
  file: string;
  range: SourceRange;
}

export type SourceDefinition =
  | { op: "source"; kind: "scratch"; platform?: string }
  | { op: "source"; kind: "image"; ref: string; platform: string }
  | {
      op: "source";
      kind: "local";
      /** `context` for the main build context, else a named context. */
      name: string;
      /** Paths the build reads (BuildKit's FollowPaths); empty means everything. */
      followPaths: string[];
      /** `.dockerignore` patterns, applied when the context is read. */
      excludePatterns: string[];
    }
  | { op: "source"; kind: "http"; url: string; filename: string; checksum: string | undefined }
  | { op: "source"; kind: "git"; remote: string; ref: string; subdir: string; keepGitDir: boolean; checksum: string | undefined };

/** A mount of a RUN: the root file system, or one `--mount`. */
export type ExecMount =
  | {
      type: "layer" | "bind";
      target: string;
      /** Index into the vertex's inputs. */
      input: number;
      /** The path inside the input that is mounted (`/` for all of it). */
      selector: string;
      readonly: boolean;
      /** True for the root mount only: its result is the vertex's output. */
      output: boolean;
    }
  | {
      type: "cache";
      target: string;
      /** The input that seeds a new cache (scratch, a stage, or a prepared directory). */
      input: number;
      selector: string;
      readonly: boolean;
      id: string;
      sharing: "shared" | "private" | "locked";
    }
  | { type: "tmpfs"; target: string; size: number }
  | {
      type: "secret";
      /** The file path, or undefined when the secret is given as an environment variable. */
      target: string | undefined;
      id: string;
      env: string | undefined;
      optional: boolean;
      uid: number;
      gid: number;
      mode: number;
    }
  | { type: "ssh"; target: string; id: string; optional: boolean; uid: number; gid: number; mode: number };

export interface ExecDefinition {
  op: "exec";
  args: string[];
  /** `K=V`, in order. Build args declared with ARG are here; proxy variables are not. */
  env: string[];
  cwd: string;
  /** Empty for the image's default (root). */
  user: string;
  network: "default" | "none" | "host";
  security: "sandbox" | "insecure";
  /** `os/arch[/variant]` it runs as (its stage's); one not the host's runs under emulation. */
  platform?: string;
  /** The root mount first, then the `--mount`s in order. */
  mounts: ExecMount[];
  /** The build arg BUILDKIT_SANDBOX_HOSTNAME: the sandbox's hostname; absent for the default. */
  hostname?: string;
}

export interface CopyAction {
  action: "copy";
  /** Index into the vertex's inputs of the state to copy from. */
  source: number;
  src: string;
  dest: string;
  followSymlinks: boolean;
  /** Copy a directory's contents rather than the directory itself (COPY's rule). */
  dirContentsOnly: boolean;
  /** Unpack local tar archives (ADD). */
  attemptUnpack: boolean;
  createDestPath: boolean;
  allowWildcard: boolean;
  allowEmptyWildcard: boolean;
  /** `--parents`: the paths under `src` to copy, keeping their directories. */
  includePatterns: string[];
  excludePatterns: string[];
  /** Paths that must exist (`--parents` without wildcards). */
  requiredPaths: string[];
  /** `--chown` as written (`user:group`, ids or names), resolved against the destination. */
  chown: string | undefined;
  chmod: ChmodSpec | undefined;
}

export interface MkdirAction {
  action: "mkdir";
  path: string;
  mode: number;
  makeParents: boolean;
  /** The user that owns it (WORKDIR creates it as the current USER). */
  chown: string | undefined;
  /** Its timestamps (RFC 3339), set from SOURCE_DATE_EPOCH. */
  createdTime: string | undefined;
}

export interface MkfileAction {
  action: "mkfile";
  path: string;
  mode: number;
  data: string;
}

export type FileAction = CopyAction | MkdirAction | MkfileAction;

export interface FileDefinition {
  op: "file";
  /** The actions apply in order on top of input 0. */
  actions: FileAction[];
  /** COPY --link: the copied files form an independent layer over input 0. */
  link: boolean;
}

export type VertexDefinition = SourceDefinition | ExecDefinition | FileDefinition;

export interface Vertex {
  /** Unique within the graph; vertices are numbered in topological order. */
  id: string;
  /** A human name like BuildKit's: `[build 2/5] RUN make`. */
  name: string;
  /** The stage the vertex belongs to, when it belongs to one. */
  stage: string | undefined;
  location: VertexLocation | undefined;
  /** Ids of the vertices this one reads, in definition order. */
  inputs: string[];
  definition: VertexDefinition;
  /** Proxy variables for a RUN (`HTTP_PROXY` ...): in its environment, never in its cache key. */
  proxyEnv: Record<string, string> | undefined;
  /** `--no-cache` (for all stages or this vertex's stage): run it even when a cache key matches. */
  ignoreCache: boolean;
}

/** A non-fatal finding of the conversion. */
export interface BuildWarning {
  /** A stable identifier: `unused-build-arg`, `base-platform-mismatch`. */
  code: string;
  message: string;
  location: VertexLocation | undefined;
}

/** The image config BuildKit writes for the target (no `created`: the exporter sets it). */
export type BuildImageConfig = Omit<ImageConfig, "created" | "config"> & { config: ContainerConfig };

export interface BuildGraph {
  /** Topologically ordered: every vertex comes after its inputs. */
  vertices: Vertex[];
  /** The vertex whose output is the target stage's file system. */
  output: string;
  /** The stage built: its name (or `stage-N`) and index. */
  target: { name: string; index: number };
  image: BuildImageConfig;
  warnings: BuildWarning[];
  /** SOURCE_DATE_EPOCH in seconds when given: the exporter uses it for created times. */
  epoch: number | undefined;
  /** Secret ids and ssh ids the build asks for, with whether it requires them. */
  secrets: { id: string; required: boolean }[];
  ssh: { id: string; required: boolean }[];
}

/** What a resolver returns for an image reference. */
export interface ResolvedImage {
  /** The reference to pull, possibly pinned by digest: `docker.io/library/alpine:3.19@sha256:...`. */
  ref: string;
  /** The image config as stored in the image. */
  config: ImageConfig;
}

/** Looks up a base image's config; the caller's store or registry implements it. */
export interface ImageConfigResolver {
  resolveImageConfig(ref: string, options: { platform: PlatformSpec }): Promise<ResolvedImage>;
}

/** A context given by name (`--build-context name=...`): a directory or an image. */
export type NamedContext =
  /** A local directory; `excludePatterns` from its own `.dockerignore`, as BuildKit reads it. */
  | { kind: "local"; name: string; excludePatterns?: string[] }
  | { kind: "image"; ref: string };
