import type { SourceRange } from "../parser/ast.js";
import { DockerfileSyntaxError } from "../parser/syntax-error.js";
import { didYouMean } from "../util/did-you-mean.js";
import type { DockerignoreMatcher } from "./dockerignore.js";
import { EnvList } from "./env-list.js";
import type { GraphBuilder, VertexNode } from "./graph-builder.js";
import type { BuildImageConfig, BuildWarning, NamedContext, VertexLocation } from "./graph.js";
import type { Instruction, Stage } from "./instructions/types.js";
import { formatPlatform, type PlatformSpec } from "./platform.js";
import type { ExpandModes, WordExpander } from "./word-expander.js";

/** BuildKit writes this comment on every history entry it adds. */
export const HISTORY_COMMENT = "buildkit.dockerfile.v0";
export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const DEFAULT_SHELL = ["/bin/sh", "-c"];

/** An instruction of a stage with the stages it reads (COPY --from, RUN --mount from=). */
export interface Command {
  instruction: Instruction;
  /** One entry per source: for RUN, one per mount (undefined for mounts of the context). */
  sources: (StageState | undefined)[];
  /** An ONBUILD trigger of the base, run right after FROM. */
  isOnBuild: boolean;
}

/** An ARG the stage declared, with the value it took (undefined: declared without one). */
export interface DeclaredArg {
  key: string;
  value: string | undefined;
}

/**
 * The state of one stage while it is converted: BuildKit's dispatchState. Also used for
 * images named only by `COPY --from` or `RUN --mount from=` ("unregistered" stages).
 */
export interface StageState {
  index: number;
  stage: Stage | undefined;
  /** For names and messages: the stage name, `stage-N`, or empty when there is one stage. */
  displayName: string;
  /** The expanded FROM image or stage name. */
  baseName: string;
  /** The FROM location, or the referring instruction's for an unregistered stage. */
  range: SourceRange;
  platform: PlatformSpec | undefined;
  base: StageState | undefined;
  deps: Map<StageState, Instruction>;
  commands: Command[];
  unregistered: boolean;
  /** A named context the stage's file system comes from instead of its FROM image. */
  namedContext: NamedContext | undefined;
  /** The named context replaces the whole stage (its name matched): nothing to dispatch. */
  replacedByContext: boolean;
  resolved: boolean;
  dispatched: boolean;
  onBuildInit: boolean;
  /** The resolved base image (undefined for scratch and stage bases). */
  baseImage: { ref: string; platform: string; vertexName: string } | undefined;
  /** True when the base turned out to have no layers. */
  baseIsScratch: boolean;
  /** The current file system, and the process defaults of the LLB state. */
  vertex: VertexNode | undefined;
  env: EnvList;
  dir: string;
  user: string;
  image: BuildImageConfig;
  buildArgs: DeclaredArg[];
  usedArgs: Set<string>;
  cmdTotal: number;
  cmdIndex: number;
  cmdIsOnBuild: boolean;
  /** CMD was given in this stage: a later ENTRYPOINT keeps it. */
  cmdSet: boolean;
  /** Where CMD, ENTRYPOINT and HEALTHCHECK were last given in this stage, for the lint. */
  lastUse: Map<string, SourceRange>;
  /** A WORKDIR was given in this stage or a stage it is built on. */
  workdirSet: boolean;
  /** `--no-cache` applies to this stage's RUN, COPY and ADD steps. */
  ignoreCache: boolean;
  /** SOURCE_DATE_EPOCH as Go writes a time (`2023-01-01T00:00:00Z`), for history and mkdir. */
  epoch: string | undefined;
}

/** Everything the dispatchers share for one conversion. */
export interface ConvertContext {
  file: string;
  expander: WordExpander;
  graph: GraphBuilder;
  states: StageState[];
  statesByName: Map<string, StageState>;
  /** The meta ARGs with their values, plus the predefined platform args. */
  globalArgs: EnvList;
  /** Names declared by ARG before the first FROM, with or without a value. */
  metaArgNames: Set<string>;
  /** `--build-arg` values. */
  buildArgs: Record<string, string>;
  proxyEnv: Record<string, string> | undefined;
  /** The network RUN uses when it gives no --network (`docker build --network`). */
  defaultNetwork: "default" | "none" | "host";
  /** The build platform (BUILDPLATFORM): the host's. */
  hostPlatform: PlatformSpec;
  /** The platform the image is for (TARGETPLATFORM): stages without --platform are for it. */
  targetPlatform: PlatformSpec;
  warnings: BuildWarning[];
  secrets: Map<string, boolean>;
  ssh: Map<string, boolean>;
  /** Paths of the main context the build reads (COPY sources, bind mount sources). */
  contextPaths: Set<string>;
  /** SOURCE_DATE_EPOCH in seconds, when the build has one. */
  epoch: number | undefined;
  /** The `.dockerignore` patterns, for the CopyIgnoredFile check. */
  dockerignore: DockerignoreMatcher | undefined;
}

export function location(ctx: ConvertContext, range: SourceRange): VertexLocation {
  return { file: ctx.file, range };
}

/** A DockerfileSyntaxError at an instruction (or FROM) range. */
export function syntaxError(ctx: ConvertContext, range: SourceRange, reason: string, options: { hint?: string; cause?: unknown } = {}): DockerfileSyntaxError {
  return new DockerfileSyntaxError(reason, { file: ctx.file, line: range.start.line, column: range.start.column, endLine: range.end.line }, options);
}

/** Records a warning once (BuildKit's lint rules, by kebab-case name). */
export function warn(ctx: ConvertContext, range: SourceRange | undefined, code: string, message: string): void {
  const line = range?.start.line;
  if (ctx.warnings.some((w) => w.code === code && w.message === message && w.location?.range.start.line === line)) return;
  ctx.warnings.push({ code, message, location: range ? location(ctx, range) : undefined });
}

/** Args that configure BuildKit itself: declared with ARG, but kept out of RUN's environment. */
export const NON_ENV_ARGS = new Set(["BUILDKIT_SBOM_SCAN_CONTEXT", "BUILDKIT_SBOM_SCAN_STAGE"]);

/**
 * Expands a word of a stage's instruction with the stage's variables, warning about
 * variables that are neither set nor declared ARGs (BuildKit's UndefinedVar rule).
 */
export function expandInStage(ctx: ConvertContext, state: StageState, range: SourceRange, word: string): string {
  const result = expandAt(ctx, range, word, state.env);
  for (const name of result.unmatched) {
    if (NON_ENV_ARGS.has(name) || state.buildArgs.some((arg) => arg.key === name)) continue;
    const suggestion = didYouMean(name, state.env.keys());
    warn(ctx, range, "undefined-var", `Usage of undefined variable '$${name}'${suggestion ? ` (did you mean $${suggestion}?)` : ""}`);
  }
  return result.value;
}

/** Expands a word, turning lexer errors into errors at the instruction. */
export function expandAt(ctx: ConvertContext, range: SourceRange, word: string, env: EnvList, modes: ExpandModes = {}) {
  try {
    return ctx.expander.word(word, env, modes);
  } catch (error) {
    throw relocate(ctx, range, error);
  }
}

export function expandWordsAt(ctx: ConvertContext, range: SourceRange, word: string, env: EnvList): string[] {
  try {
    return ctx.expander.words(word, env);
  } catch (error) {
    throw relocate(ctx, range, error);
  }
}

/**
 * Moves a syntax error (the lexer's expansion errors are syntax errors too) that has no place in this Dockerfile (the lexer's,
 * an ONBUILD trigger's) to the instruction. Other errors, bugs included, pass unchanged.
 */
export function relocate(ctx: ConvertContext, range: SourceRange, error: unknown): unknown {
  if (error instanceof DockerfileSyntaxError) {
    if (error.file === ctx.file && error.line >= range.start.line && error.line <= range.end.line) return error;
    return syntaxError(ctx, range, error.reason, { hint: error.hint, cause: error });
  }
  return error;
}

/** BuildKit's step name prefix: `[build 2/5] `, counting the stage's steps as they are named. */
export function stepName(state: StageState, text: string): string {
  if (state.cmdTotal === 0) return text;
  state.cmdIndex++;
  const width = 1 + Math.floor(Math.log10(state.cmdTotal));
  let out = "[";
  if (state.displayName !== "") out += `${state.displayName} `;
  out += `${String(state.cmdIndex).padStart(width, " ")}/${state.cmdTotal}] `;
  if (state.cmdIsOnBuild) out += "ONBUILD ";
  return out + text;
}

/** Upper-cases the keyword of an instruction's text, as BuildKit's step names show it. */
export function uppercaseKeyword(text: string): string {
  const space = text.indexOf(" ");
  return space === -1 ? text.toUpperCase() : text.slice(0, space).toUpperCase() + text.slice(space);
}

/** Expands an instruction's text for its step name; on a lexer error the text stays as written. */
export function nameText(ctx: ConvertContext, text: string, env: EnvList, modes: ExpandModes = {}): string {
  try {
    return ctx.expander.word(text, env, modes).value;
  } catch {
    return text;
  }
}

/** A Unix time as Go's JSON encoding of a time.Time writes it (RFC 3339, no zero fraction). */
export function formatGoTime(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace(".000Z", "Z");
}

/** Adds a history entry as BuildKit's commitToHistory does. */
export function commitHistory(state: StageState, createdBy: string, options: { layer: boolean; buildkit?: boolean }): void {
  state.image.history ??= [];
  state.image.history.push({
    ...(state.epoch === undefined ? {} : { created: state.epoch }),
    created_by: options.buildkit ? `${createdBy} # buildkit` : createdBy,
    comment: HISTORY_COMMENT,
    empty_layer: !options.layer,
  });
}

/** The stage's SHELL (or /bin/sh -c) followed by the shell-form command joined into one string. */
export function withShell(state: StageState, args: readonly string[]): string[] {
  const shell = state.image.config.Shell && state.image.config.Shell.length > 0 ? [...state.image.config.Shell] : [...DEFAULT_SHELL];
  return [...shell, args.join(" ")];
}

/**
 * The stage's current file system vertex: its base image's source vertex (made on first
 * use, so vertex order follows dispatch order), or scratch until something is written.
 */
export function currentVertex(ctx: ConvertContext, state: StageState): VertexNode {
  if (state.vertex) return state.vertex;
  if (state.namedContext?.kind === "local") {
    const node = ctx.graph.local(state.namedContext.name);
    node.definition.excludePatterns = [...(state.namedContext.excludePatterns ?? [])];
    state.vertex = node;
  } else if (state.baseImage && !state.baseIsScratch) {
    state.vertex = ctx.graph.image(state.baseImage.ref, {
      platform: state.baseImage.platform,
      name: state.baseImage.vertexName,
      stage: state.displayName || undefined,
      location: location(ctx, state.range),
    });
  } else {
    state.vertex = ctx.graph.scratch(formatPlatform(state.platform ?? ctx.targetPlatform));
  }
  return state.vertex;
}

/** An empty image for the platform, as BuildKit starts a scratch stage. */
export function emptyImage(platform: PlatformSpec): StageState["image"] {
  const image: StageState["image"] = {
    architecture: platform.architecture,
    os: platform.os,
    rootfs: { type: "layers", diff_ids: [] },
    config: { Env: [`PATH=${DEFAULT_PATH}`], WorkingDir: "/" },
  };
  if (platform.variant) image.variant = platform.variant;
  return image;
}

/** A deep copy, so a stage built on another never changes its base. */
export function cloneImage(image: StageState["image"]): StageState["image"] {
  return structuredClone(image);
}
