import { TsbuildError, isTsbuildError } from "../errors.js";
import { familiarString, formatReference, parseReference, withDefaultTag } from "../oci/reference.js";
import type { ImageConfig } from "../oci/image-types.js";
import { parseDockerfile } from "../parser/parse-dockerfile.js";
import { buildkitSuggestion, didYouMean, withSuggestion } from "../util/did-you-mean.js";
import { parseInstruction } from "./instructions/parse-instructions.js";
import type { DockerfileInstructions, Instruction, Stage } from "./instructions/types.js";
import { isPredefinedArg, predefinedArgs, proxyEnvFromBuildArgs } from "./build-args.js";
import { dispatchInstruction } from "./dispatch-instruction.js";
import { DockerignoreMatcher } from "./dockerignore.js";
import { EnvList } from "./env-list.js";
import { GraphBuilder } from "./graph-builder.js";
import type { BuildGraph, BuildImageConfig, ImageConfigResolver, NamedContext } from "./graph.js";
import { formatPlatform, normalizePlatform, parsePlatform, type PlatformSpec } from "./platform.js";
import { runMountFrom } from "./run-mount.js";
import {
  DEFAULT_PATH,
  cloneImage,
  currentVertex,
  emptyImage,
  expandAt,
  formatGoTime,
  relocate,
  stepName,
  warn,
  syntaxError,
  type Command,
  type ConvertContext,
  type StageState,
} from "./stage-state.js";
import { WordExpander } from "./word-expander.js";
import { goQuote } from "./go-format.js";
import { LocatedError } from "../parser/located-error.js";
import { joinPath, normalizePath } from "./container-path.js";
import type { SourceRange } from "../parser/ast.js";

export interface ConvertOptions {
  /** Looks up base images' configs (FROM, COPY --from, RUN --mount from=). */
  resolver: ImageConfigResolver;
  /** The Dockerfile's name, for locations (default: the instructions' own). */
  file?: string;
  /** The Dockerfile's escape token (default: the instructions' own). */
  escapeToken?: "\\" | "`";
  /** `--build-arg` values. */
  buildArgs?: Record<string, string>;
  /** The stage to build (default: the last). */
  target?: string;
  /** The build platform: the host's, where `FROM --platform=$BUILDPLATFORM` stages run (default linux/amd64). */
  platform?: PlatformSpec;
  /** The platform the image is for (`--platform`); default the build platform. */
  targetPlatform?: PlatformSpec;
  /** `--label` values, added to the target image's labels. */
  labels?: Record<string, string>;
  /** Patterns from `.dockerignore`, applied when the build context is read. */
  dockerignore?: string[];
  /** Named contexts (`--build-context name=...`) that stand in for stages, images or `--from` names. */
  contexts?: Record<string, NamedContext>;
  /** `--no-cache`: true for every stage, or the names of the stages to rebuild. */
  noCache?: boolean | string[];
  /** `--network`: the network of every RUN that does not choose its own. */
  network?: "default" | "none" | "host";
}

const SCRATCH = "scratch";
const DEFAULT_PLATFORM: PlatformSpec = { os: "linux", architecture: "amd64" };

/**
 * Converts a Dockerfile's typed instructions into a build graph and the target image's
 * config and history, with BuildKit's semantics (dockerfile2llb): meta ARGs for FROM,
 * ARG/ENV scoping per stage, ONBUILD triggers, stage dependencies and pruning to what the
 * target needs. Pure: base image configs come from `options.resolver`.
 */
export async function convertDockerfile(instructions: DockerfileInstructions, options: ConvertOptions): Promise<BuildGraph> {
  const host = normalizePlatform(options.platform ?? DEFAULT_PLATFORM);
  const targetPlatform = options.targetPlatform === undefined ? host : normalizePlatform(options.targetPlatform);
  const buildArgs = { ...(options.buildArgs ?? {}) };
  const stages = instructions.stages;
  const ctx: ConvertContext = {
    file: options.file ?? instructions.file,
    expander: new WordExpander(options.escapeToken ?? instructions.escapeToken),
    graph: new GraphBuilder(),
    states: [],
    statesByName: new Map(),
    globalArgs: predefinedArgs({ build: host, target: targetPlatform }, { target: options.target || (stages[stages.length - 1]?.name ?? ""), buildArgs }),
    metaArgNames: new Set(),
    buildArgs,
    proxyEnv: proxyEnvFromBuildArgs(buildArgs),
    defaultNetwork: options.network ?? "default",
    hostPlatform: host,
    targetPlatform,
    warnings: [],
    secrets: new Map(),
    ssh: new Map(),
    contextPaths: new Set(),
    epoch: undefined,
    dockerignore: options.dockerignore ? new DockerignoreMatcher(options.dockerignore) : undefined,
  };
  const contexts = options.contexts ?? {};
  applyMetaArgs(ctx, instructions);
  ctx.epoch = sourceDateEpoch(ctx);

  for (const stage of stages) addStage(ctx, stage, options);
  const target = findTarget(ctx, options.target);
  buildStageDependencies(ctx, contexts);
  checkCircularDependencies(ctx);
  if (ctx.states.length === 1) ctx.states[0].displayName = "";

  const reachable = await resolveStages(ctx, target, options.resolver);
  for (const state of ctx.states) {
    if (!reachable.has(state) || state.dispatched) continue;
    dispatchStage(ctx, state);
  }

  return finish(ctx, target, { reachable, options });
}

/** ARGs before the first FROM: `--build-arg` wins, else the default expanded with the earlier ones. */
function applyMetaArgs(ctx: ConvertContext, instructions: DockerfileInstructions): void {
  for (const instruction of instructions.metaArgs) {
    for (const declaration of instruction.args) {
      let value: string | undefined;
      if (Object.hasOwn(ctx.buildArgs, declaration.key)) value = ctx.buildArgs[declaration.key];
      else if (declaration.value !== undefined) value = expandAt(ctx, instruction.range, declaration.value, ctx.globalArgs).value;
      if (value !== undefined) ctx.globalArgs.set(declaration.key, value);
      ctx.metaArgNames.add(declaration.key);
    }
  }
}

/**
 * SOURCE_DATE_EPOCH from a build arg or a meta ARG default: whole seconds. BuildKit also
 * takes a git or http source to read a date from; that is not supported here.
 */
function sourceDateEpoch(ctx: ConvertContext): number | undefined {
  const value = Object.hasOwn(ctx.buildArgs, "SOURCE_DATE_EPOCH") ? ctx.buildArgs.SOURCE_DATE_EPOCH : ctx.globalArgs.get("SOURCE_DATE_EPOCH");
  if (value === undefined || value === "") return undefined;
  if (!/^[+-]?\d+$/.test(value)) {
    throw new TsbuildError("USAGE", `Cannot use SOURCE_DATE_EPOCH "${value}": it is not a whole number of seconds`, {
      hint: "Set SOURCE_DATE_EPOCH to seconds since 1970, such as $(git log -1 --format=%ct)",
    });
  }
  return Number(value);
}

function newState(ctx: ConvertContext, fields: { stage: Stage | undefined; baseName: string; range: SourceRange; unregistered: boolean }): StageState {
  return {
    index: ctx.states.length,
    stage: fields.stage,
    displayName: "",
    baseName: fields.baseName,
    range: fields.range,
    platform: undefined,
    base: undefined,
    deps: new Map(),
    commands: [],
    unregistered: fields.unregistered,
    namedContext: undefined,
    replacedByContext: false,
    resolved: false,
    dispatched: false,
    onBuildInit: false,
    baseImage: undefined,
    baseIsScratch: false,
    vertex: undefined,
    env: new EnvList(),
    dir: "",
    user: "",
    image: emptyImage(ctx.targetPlatform),
    buildArgs: [],
    usedArgs: new Set(),
    cmdTotal: 0,
    cmdIndex: 0,
    cmdIsOnBuild: false,
    cmdSet: false,
    lastUse: new Map(),
    workdirSet: false,
    ignoreCache: false,
    epoch: ctx.epoch === undefined ? undefined : formatGoTime(ctx.epoch),
  };
}

/** Registers a state; a FROM naming an earlier stage makes that stage its base. */
function registerState(ctx: ConvertContext, state: StageState): void {
  ctx.states.push(state);
  // BuildKit looks the base up by the expanded name as written (stage names are lower case).
  const base = ctx.statesByName.get(state.baseName);
  if (base) state.base = base;
  if (state.stage?.name) ctx.statesByName.set(state.stage.name.toLowerCase(), state);
}

function addStage(ctx: ConvertContext, stage: Stage, options: ConvertOptions): void {
  const contexts = options.contexts ?? {};
  const from = stage.from;
  const expanded = expandAt(ctx, from.range, from.image, ctx.globalArgs);
  warnUndeclaredFromArgs(ctx, from.range, expanded.unmatched);
  const baseName = expanded.value;
  if (baseName === "") throw syntaxError(ctx, from.range, `base name (${from.image}) should not be blank`, { hint: "Give FROM an image, or set the ARG it uses" });
  const state = newState(ctx, { stage, baseName, range: from.range, unregistered: false });
  if (from.platform !== undefined) state.platform = checkPlatform(ctx, from.range, from.platform);
  state.displayName = stage.name ?? `stage-${stage.index}`;
  state.ignoreCache = options.noCache === true || (Array.isArray(options.noCache) && stage.name !== undefined && options.noCache.includes(stage.name));
  const named = stage.name ? contexts[stage.name] : undefined;
  if (stage.name && ctx.statesByName.has(stage.name)) {
    // BuildKit only lints this; the later stage takes the name.
    warn(ctx, from.range, "duplicate-stage-name", `Duplicate stage name ${goQuote(stage.name)}, stage names should be unique`);
  }
  registerState(ctx, state);
  if (named) {
    // A named context replaces the whole stage.
    state.namedContext = named;
    state.replacedByContext = true;
    state.base = undefined;
    return;
  }
  if (!state.base) state.namedContext = namedContextFor(contexts, baseName);
  let total = baseName !== SCRATCH && !state.base ? 1 : 0;
  for (const command of stage.commands) {
    if (["ADD", "COPY", "RUN", "WORKDIR"].includes(command.kind)) total++;
  }
  state.cmdTotal = total;
}

/** BuildKit's UndefinedArgInFrom check: FROM can only see ARGs declared before the first FROM. */
function warnUndeclaredFromArgs(ctx: ConvertContext, range: SourceRange, unmatched: Set<string>): void {
  for (const name of unmatched) {
    if (ctx.metaArgNames.has(name)) continue;
    const suggestion = didYouMean(name, [...ctx.metaArgNames, ...ctx.globalArgs.keys()]);
    warn(ctx, range, "undefined-arg-in-from", `FROM argument '${name}' is not declared${suggestion ? ` (did you mean ${suggestion}?)` : ""}`);
  }
}

/** Expands FROM --platform with the global args: any platform (one without an emulator fails when a step runs on it). */
function checkPlatform(ctx: ConvertContext, range: SourceRange, raw: string): PlatformSpec {
  const expanded = expandAt(ctx, range, raw, ctx.globalArgs);
  warnUndeclaredFromArgs(ctx, range, expanded.unmatched);
  const value = expanded.value;
  if (value === "") throw syntaxError(ctx, range, `empty platform value from expression ${raw}`, { hint: "Set the ARG the --platform value uses" });
  const platform = parsePlatform(value, ctx.hostPlatform);
  if (!platform) throw syntaxError(ctx, range, `failed to parse platform ${raw}: "${value}" is not an os/arch[/variant] platform`);
  return platform;
}

function findTarget(ctx: ConvertContext, target: string | undefined): StageState {
  if (target === undefined || target === "") return ctx.states[ctx.states.length - 1];
  const state = ctx.statesByName.get(target.toLowerCase());
  if (state) return state;
  const names = ctx.states.map((s) => s.stage?.name).filter((name): name is string => name !== undefined);
  const suggestion = buildkitSuggestion(target, names, { caseSensitive: true });
  // A --target problem is in the command line, not at a place in the Dockerfile.
  throw new TsbuildError("USAGE", withSuggestion(`target stage "${target}" could not be found`, suggestion), {
    hint: names.length > 0 ? `The stages are: ${names.join(", ")}` : "No stage has a name: add AS name to a FROM",
  });
}

/**
 * The named context standing in for an image name, looked up as written, then as docker
 * shows the name (`alpine`, `alpine:3.19`, `user/img`), then fully normalised.
 */
function namedContextFor(contexts: Record<string, NamedContext>, name: string): NamedContext | undefined {
  if (Object.hasOwn(contexts, name)) return contexts[name];
  try {
    const reference = parseReference(name);
    const familiar = familiarString(reference);
    for (const key of [familiar, familiar.replace(/:latest$/, ""), formatReference(withDefaultTag(reference))]) {
      if (Object.hasOwn(contexts, key)) return contexts[key];
    }
  } catch {
    // Not a reference: only the exact name could match.
  }
  return undefined;
}

/** Finds the stage a `--from` or mount `from=` names, or makes an image state for it. */
function sourceState(ctx: ConvertContext, name: string, range: SourceRange, options: { byIndex: boolean }): StageState {
  if (options.byIndex && /^[+-]?\d+$/.test(name)) {
    const index = Number(name);
    const state = ctx.states[index];
    if (index < 0 || !state) throw syntaxError(ctx, range, `invalid stage index ${index}`, { hint: `Stages are numbered from 0 to ${ctx.states.length - 1}` });
    return state;
  }
  const stage = ctx.statesByName.get(name.toLowerCase());
  if (stage) return stage;
  const state = newState(ctx, { stage: undefined, baseName: name, range, unregistered: true });
  registerState(ctx, state);
  return state;
}

function toCommand(ctx: ConvertContext, instruction: Instruction, options: { isOnBuild: boolean }): Command {
  const command: Command = { instruction, sources: [], isOnBuild: options.isOnBuild };
  if (instruction.kind === "COPY" && instruction.from !== undefined) {
    const from = instruction.from;
    if (expandAt(ctx, instruction.range, from, new EnvList()).value !== from) {
      throw syntaxError(ctx, instruction.range, "variable expansion is not supported for --from, define a new stage with FROM using ARG from global scope as a workaround", {
        hint: "Add ARG before the first FROM, a stage `FROM ${IMAGE} AS src`, then COPY --from=src",
      });
    }
    command.sources = [sourceState(ctx, from, instruction.range, { byIndex: true })];
  } else if (instruction.kind === "RUN") {
    const loc = { file: ctx.file, line: instruction.range.start.line, column: instruction.range.start.column, endLine: instruction.range.end.line };
    // Like BuildKit, every mount gets a source state, `scratch` when it names none; that
    // extra state is why a one-stage Dockerfile with mounts names its steps `[stage-0 ...]`.
    command.sources = instruction.mounts.map((spec) => {
      const from = runMountFrom(spec, { location: loc });
      return sourceState(ctx, from === "" ? SCRATCH : from, instruction.range, { byIndex: false });
    });
  }
  return command;
}

function buildStageDependencies(ctx: ConvertContext, contexts: Record<string, NamedContext>): void {
  for (const state of [...ctx.states]) {
    if (!state.stage || state.replacedByContext) continue;
    state.commands = state.stage.commands.map((instruction) => toCommand(ctx, instruction, { isOnBuild: false }));
    for (const command of state.commands) {
      for (const source of command.sources) if (source) state.deps.set(source, command.instruction);
    }
  }
  for (const state of ctx.states) {
    if (state.unregistered) state.namedContext = namedContextFor(contexts, state.baseName);
  }
}

/** BuildKit's check: a stage may not (through COPY --from or mounts) depend on itself. */
function checkCircularDependencies(ctx: ConvertContext): void {
  const visited = new Set<StageState>();
  const onPath = new Set<StageState>();
  const visit = (state: StageState, path: Instruction[]): Instruction[] | undefined => {
    if (visited.has(state)) return undefined;
    visited.add(state);
    onPath.add(state);
    for (const [dep, instruction] of state.deps) {
      const next = [...path, instruction];
      if (onPath.has(dep)) return next;
      const cycle = visit(dep, next);
      if (cycle) return cycle;
    }
    onPath.delete(state);
    return undefined;
  };
  for (const state of ctx.states) {
    const cycle = visit(state, []);
    if (cycle) {
      throw syntaxError(ctx, cycle[0].range, `circular dependency detected on stage: ${state.displayName}`, {
        hint: "A stage cannot read from a stage that is built on it",
      });
    }
  }
}

function reachableFrom(target: StageState): Set<StageState> {
  const out = new Set<StageState>();
  const add = (state: StageState) => {
    if (out.has(state)) return;
    out.add(state);
    if (state.base) add(state.base);
    for (const dep of state.deps.keys()) add(dep);
  };
  add(target);
  return out;
}

/**
 * Resolves the base images of every stage the target needs, then inserts ONBUILD
 * triggers (which may need more stages, so it repeats until nothing new appears).
 */
async function resolveStages(ctx: ConvertContext, target: StageState, resolver: ImageConfigResolver): Promise<Set<StageState>> {
  for (;;) {
    const reachable = reachableFrom(target);
    const pending = ctx.states.filter((state) => reachable.has(state) && !state.base && !state.resolved && !state.dispatched);
    const resolved = await Promise.all(pending.map((state) => resolveBase(ctx, state, resolver)));
    pending.forEach((state, i) => applyResolvedBase(ctx, state, resolved[i]));

    let newDeps = false;
    for (const state of ctx.states) {
      if (!reachable.has(state)) continue;
      const triggers: string[] = [];
      if (!state.base) {
        triggers.push(...(state.image.config.OnBuild ?? []));
        delete state.image.config.OnBuild;
      } else if (!state.onBuildInit) {
        for (const command of state.base.commands) {
          if (command.instruction.kind === "ONBUILD") triggers.push(command.instruction.expression);
        }
        state.onBuildInit = true;
      }
      if (triggers.length > 0 && insertTriggers(ctx, state, triggers)) newDeps = true;
    }
    if (!newDeps) return reachable;
  }
}

type ResolvedBase = { kind: "scratch" } | { kind: "context" } | { kind: "image"; ref: string; config: ImageConfig; platform: PlatformSpec };

async function resolveBase(ctx: ConvertContext, state: StageState, resolver: ImageConfigResolver): Promise<ResolvedBase> {
  if (state.namedContext?.kind === "local") return { kind: "context" };
  const name = state.namedContext?.kind === "image" ? state.namedContext.ref : state.baseName;
  if (name === SCRATCH) return { kind: "scratch" };
  let ref: string;
  try {
    ref = formatReference(withDefaultTag(parseReference(name)));
  } catch (error) {
    throw syntaxError(ctx, state.range, `failed to parse stage name "${name}": ${(error as Error).message}`, {
      hint: stageHint(ctx, name) ?? "Name an image (alpine:3.19) or an earlier stage",
      cause: error,
    });
  }
  const platform = state.platform ?? ctx.targetPlatform;
  try {
    const resolved = await resolver.resolveImageConfig(ref, { platform });
    return { kind: "image", ref: resolved.ref, config: resolved.config, platform };
  } catch (error) {
    const hint = stageHint(ctx, name);
    if (hint) {
      throw syntaxError(ctx, state.range, `"${name}" is not a stage, and no image of that name could be resolved`, { hint, cause: error });
    }
    // Which FROM could not be resolved: its line, as buildx shows it.
    if (isTsbuildError(error) && !isTsbuildError(error, "CANCELLED")) {
      throw new LocatedError(error, { file: ctx.file, line: state.range.start.line, column: state.range.start.column, endLine: state.range.end.line });
    }
    throw error;
  }
}

function stageHint(ctx: ConvertContext, name: string): string | undefined {
  const names = ctx.states.map((s) => s.stage?.name).filter((n): n is string => n !== undefined);
  const suggestion = didYouMean(name, names);
  return suggestion ? `Did you mean the stage "${suggestion}"?` : undefined;
}

function applyResolvedBase(ctx: ConvertContext, state: StageState, resolved: ResolvedBase): void {
  state.resolved = true;
  // Images named by --from or a mount, and named contexts, have nothing to dispatch.
  if (state.unregistered || state.replacedByContext) state.dispatched = true;
  if (resolved.kind === "scratch" || resolved.kind === "context") {
    // BuildKit: a scratch stage is for its --platform, else the target's.
    state.platform ??= ctx.targetPlatform;
    state.image = emptyImage(state.platform);
    return;
  }
  const config = resolved.config;
  state.image = {
    architecture: config.architecture,
    os: config.os,
    ...(config.variant ? { variant: config.variant } : {}),
    ...(config["os.version"] ? { "os.version": config["os.version"] } : {}),
    ...(config["os.features"] ? { "os.features": [...config["os.features"]] } : {}),
    ...(config.author ? { author: config.author } : {}),
    config: withoutNulls(structuredClone(config.config ?? {})),
    rootfs: { type: "layers", diff_ids: [...(config.rootfs?.diff_ids ?? [])] },
    history: structuredClone(config.history ?? []),
  };
  // An image without layers is scratch with a config (BuildKit checks history too, for schema1).
  state.baseIsScratch = state.image.rootfs.diff_ids.length === 0 && (state.image.history ?? []).every((h) => h.empty_layer);
  state.platform = resolved.platform;
  state.baseImage = { ref: resolved.ref, platform: formatPlatform(resolved.platform), vertexName: "" };
  state.baseImage.vertexName = stepName(state, `FROM ${resolved.ref}`);
  const imagePlatform = normalizePlatform({ os: config.os ?? "", architecture: config.architecture ?? "", variant: config.variant });
  if (config.os && config.architecture && formatPlatform(imagePlatform) !== formatPlatform(resolved.platform)) {
    warn(
      ctx,
      state.range,
      "base-platform-mismatch",
      `Base image ${state.baseName} was pulled with platform "${formatPlatform(imagePlatform)}", expected "${formatPlatform(resolved.platform)}" for current build`,
    );
  }
}

/** Go reads a JSON null as a nil field, which BuildKit then leaves out: do the same. */
function withoutNulls<T extends object>(value: T): T {
  for (const key of Object.keys(value) as (keyof T)[]) {
    if (value[key] === null) delete value[key];
  }
  return value;
}

/** Parses ONBUILD trigger text and puts the triggers first in the stage, as if right after FROM. */
function insertTriggers(ctx: ConvertContext, state: StageState, triggers: string[]): boolean {
  let newDeps = false;
  const commands: Command[] = [];
  for (const trigger of triggers) {
    let instruction: Instruction;
    try {
      const ast = parseDockerfile(trigger, { file: ctx.file });
      if (ast.instructions.length !== 1) throw syntaxError(ctx, state.range, "onbuild trigger should be a single expression");
      instruction = parseInstruction(ast.instructions[0], { file: ctx.file });
    } catch (error) {
      throw relocate(ctx, state.range, error);
    }
    // A trigger has no place in this Dockerfile: errors and steps point at the FROM.
    const command = toCommand(ctx, { ...instruction, range: state.range } as Instruction, { isOnBuild: true });
    for (const source of command.sources) {
      if (!source) continue;
      state.deps.set(source, command.instruction);
      newDeps = true;
    }
    commands.push(command);
  }
  state.commands = [...commands, ...state.commands];
  state.cmdTotal += commands.length;
  if (newDeps) checkCircularDependencies(ctx);
  return newDeps;
}

/** Starts a stage from its base (stage or image) and applies its instructions in order. */
function dispatchStage(ctx: ConvertContext, state: StageState): void {
  if (state.base) {
    const base = state.base;
    state.vertex = base.vertex;
    state.env = base.env.clone();
    state.dir = base.dir;
    state.user = base.user;
    state.platform = base.platform;
    state.image = cloneImage(base.image);
    // ONBUILD triggers are for images built on this one, not for stages built on it.
    delete state.image.config.OnBuild;
    state.buildArgs = [...base.buildArgs];
    state.usedArgs = new Set(base.usedArgs);
    state.workdirSet = base.workdirSet;
  }
  state.dispatched = true;
  state.platform ??= ctx.targetPlatform;
  const config = state.image.config;
  const imageEnv = EnvList.fromStrings(config.Env);
  if (!imageEnv.has("PATH") && state.image.os !== "windows") {
    config.Env = [...(config.Env ?? []), `PATH=${DEFAULT_PATH}`];
  }
  for (const item of EnvList.fromStrings(config.Env).toStrings()) {
    const eq = item.indexOf("=");
    state.env.set(item.slice(0, eq), item.slice(eq + 1));
  }
  if (config.WorkingDir) state.dir = normalizePath(config.WorkingDir, config.WorkingDir, { keepSlash: false });
  if (config.User) state.user = config.User;
  currentVertex(ctx, state);

  for (const command of state.commands) {
    try {
      dispatchInstruction(ctx, state, command);
    } catch (error) {
      throw relocate(ctx, command.instruction.range, error);
    }
  }
}

function finish(
  ctx: ConvertContext,
  target: StageState,
  extra: { reachable: Set<StageState>; options: ConvertOptions },
): BuildGraph {
  const { options } = extra;
  const config = target.image.config;
  if (options.labels && Object.keys(options.labels).length > 0) config.Labels = { ...(config.Labels ?? {}), ...options.labels };

  const output = currentVertex(ctx, target);
  const context = ctx.contextPaths.size > 0 || options.dockerignore ? ctx.graph.local("context") : undefined;
  if (context) {
    context.definition.followPaths = ctx.contextPaths.has("/") ? [] : [...ctx.contextPaths].map((p) => joinPath(".", p)).sort();
    context.definition.excludePatterns = [...(options.dockerignore ?? [])];
  }

  const consumed = new Set(ctx.metaArgNames);
  for (const state of extra.reachable) for (const key of state.usedArgs) consumed.add(key);
  const unused = Object.keys(ctx.buildArgs).filter((key) => !consumed.has(key) && !isPredefinedArg(key)).sort();
  if (unused.length > 0) {
    ctx.warnings.push({ code: "unused-build-arg", message: `One or more build-args [${unused.join(" ")}] were not consumed`, location: undefined });
  }

  const image = target.image;
  const result: BuildImageConfig = {
    architecture: image.architecture,
    os: image.os,
    ...(image.variant ? { variant: image.variant } : {}),
    ...(image["os.version"] ? { "os.version": image["os.version"] } : {}),
    ...(image["os.features"] ? { "os.features": image["os.features"] } : {}),
    ...(image.author ? { author: image.author } : {}),
    config: image.config,
    rootfs: image.rootfs,
    history: image.history ?? [],
  };
  const { vertices, output: outputId } = ctx.graph.finish(output);
  return {
    vertices,
    output: outputId,
    target: { name: target.stage?.name ?? `stage-${target.stage?.index ?? target.index}`, index: target.stage?.index ?? target.index },
    image: result,
    warnings: ctx.warnings,
    epoch: ctx.epoch,
    secrets: [...ctx.secrets].map(([id, required]) => ({ id, required })),
    ssh: [...ctx.ssh].map(([id, required]) => ({ id, required })),
  };
}

