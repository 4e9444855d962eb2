import { TsbuildError } from "../errors.js";
import { formatGoDuration } from "./instructions/go-duration.js";
import type { Instruction } from "./instructions/types.js";
import { normalizePath } from "./container-path.js";
import { parseExposedPorts } from "./expose-ports.js";
import { dispatchCopy } from "./dispatch-copy.js";
import { dispatchRun } from "./dispatch-run.js";
import { goList, goQuote, goQuoteList } from "./go-format.js";
import {
  commitHistory,
  currentVertex,
  NON_ENV_ARGS,
  expandInStage,
  expandWordsAt,
  location,
  nameText,
  stepName,
  syntaxError,
  uppercaseKeyword,
  warn,
  withShell,
  type Command,
  type ConvertContext,
  type StageState,
} from "./stage-state.js";

/** Linux signal names (without SIG) that STOPSIGNAL accepts, as moby/sys/signal lists them. */
const SIGNALS = new Set([
  "ABRT", "ALRM", "BUS", "CHLD", "CLD", "CONT", "FPE", "HUP", "ILL", "INT", "IO", "IOT", "KILL", "PIPE", "POLL", "PROF", "PWR", "QUIT",
  "SEGV", "STKFLT", "STOP", "SYS", "TERM", "TRAP", "TSTP", "TTIN", "TTOU", "URG", "USR1", "USR2", "VTALRM", "WINCH", "XCPU", "XFSZ",
  "RTMIN", "RTMAX",
  ...Array.from({ length: 15 }, (_, i) => `RTMIN+${i + 1}`),
  ...Array.from({ length: 14 }, (_, i) => `RTMAX-${i + 1}`),
]);

/** Applies one instruction of a stage to its state: BuildKit's `dispatch`. */
export function dispatchInstruction(ctx: ConvertContext, state: StageState, command: Command): void {
  state.cmdIsOnBuild = command.isOnBuild;
  const instruction = command.instruction;
  const range = instruction.range;
  const expand = (word: string) => expandInStage(ctx, state, range, word);
  const config = state.image.config;
  switch (instruction.kind) {
    case "RUN":
      return dispatchRun(ctx, state, command);
    case "COPY":
    case "ADD":
      return dispatchCopy(ctx, state, command);
    case "ENV": {
      warnLegacyKeyValue(ctx, instruction);
      // Every word is expanded before any is applied: `ENV A=1 B=$A` sees the old A.
      const pairs = instruction.pairs.map((pair) => ({ key: expand(pair.key), value: expand(pair.value) }));
      for (const { key, value } of pairs) {
        state.env.set(key, value);
        setEnv(config, key, value);
      }
      return commitHistory(state, `ENV ${pairs.map((p) => `${p.key}=${p.value}`).join(" ")}`, { layer: false });
    }
    case "LABEL": {
      warnLegacyKeyValue(ctx, instruction);
      const pairs = instruction.pairs.map((pair) => ({ key: expand(pair.key), value: expand(pair.value) }));
      config.Labels ??= {};
      for (const { key, value } of pairs) config.Labels[key] = value;
      return commitHistory(state, `LABEL ${pairs.map((p) => `${p.key}=${p.value}`).join(" ")}`, { layer: false });
    }
    case "ARG":
      return dispatchArg(ctx, state, command);
    case "WORKDIR": {
      const path = expand(instruction.path);
      if (!state.workdirSet && !path.startsWith("/")) {
        warn(ctx, range, "workdir-relative-path", `Relative workdir ${goQuote(path)} can have unexpected results if the base image changes`);
      }
      state.workdirSet = true;
      const wd = normalizePath(config.WorkingDir ?? "", path, { keepSlash: false });
      config.WorkingDir = wd;
      state.dir = wd;
      if (wd !== "/") {
        const name = stepName(state, uppercaseKeyword(nameText(ctx, instruction.node.original, state.env)));
        state.vertex = ctx.graph.add({
          name,
          stage: state.displayName || undefined,
          location: location(ctx, range),
          inputs: [currentVertex(ctx, state)],
          definition: {
            op: "file",
            link: false,
            actions: [
              { action: "mkdir", path: wd, mode: 0o755, makeParents: true, chown: config.User ? config.User : undefined, createdTime: state.epoch },
            ],
          },
          // --no-cache covers every step of the stage, as BuildKit's IgnoreCache marshal default does.
          ignoreCache: state.ignoreCache,
        });
      }
      return commitHistory(state, `WORKDIR ${wd}`, { layer: wd !== "/" });
    }
    case "USER": {
      const user = expand(instruction.user);
      state.user = user;
      config.User = user;
      return commitHistory(state, `USER ${user}`, { layer: false });
    }
    case "EXPOSE": {
      const words = instruction.ports.flatMap((port) => expandWordsAt(ctx, range, port, state.env));
      let ports: string[];
      try {
        ports = parseExposedPorts(words);
      } catch (error) {
        throw syntaxError(ctx, range, (error as Error).message, { hint: "Write ports as 80, 80/tcp or 8000-8010/udp" });
      }
      config.ExposedPorts ??= {};
      for (const port of ports) config.ExposedPorts[port] = {};
      return commitHistory(state, `EXPOSE ${goList(ports)}`, { layer: false });
    }
    case "VOLUME": {
      const volumes = instruction.volumes.map(expand);
      config.Volumes ??= {};
      for (const volume of volumes) {
        if (volume === "") throw syntaxError(ctx, range, "VOLUME specified can not be an empty string");
        config.Volumes[volume] = {};
      }
      return commitHistory(state, `VOLUME ${goList(volumes)}`, { layer: false });
    }
    case "STOPSIGNAL": {
      const signal = expand(instruction.signal);
      if (!isValidSignal(signal)) throw syntaxError(ctx, range, `Invalid signal: ${signal}`, { hint: "Give a signal name such as SIGTERM, or its number" });
      config.StopSignal = signal;
      return commitHistory(state, `STOPSIGNAL ${signal}`, { layer: false });
    }
    case "SHELL":
      config.Shell = [...instruction.shell];
      return commitHistory(state, `SHELL ${goList(instruction.shell)}`, { layer: false });
    case "CMD": {
      warnUsedOnce(ctx, state, instruction);
      const args = instruction.prependShell ? withShell(state, instruction.args) : [...instruction.args];
      config.Cmd = args;
      config.ArgsEscaped = true;
      state.cmdSet = true;
      return commitHistory(state, `CMD ${goQuoteList(args)}`, { layer: false });
    }
    case "ENTRYPOINT": {
      warnUsedOnce(ctx, state, instruction);
      const args = instruction.prependShell ? withShell(state, instruction.args) : [...instruction.args];
      config.Entrypoint = args;
      // A new ENTRYPOINT drops a CMD it did not come with: one inherited from the base,
      // but not one given earlier in this stage.
      if (!state.cmdSet) delete config.Cmd;
      return commitHistory(state, `ENTRYPOINT ${goQuoteList(args)}`, { layer: false });
    }
    case "HEALTHCHECK": {
      warnUsedOnce(ctx, state, instruction);
      const health = instruction.healthcheck;
      const healthcheck: NonNullable<typeof config.Healthcheck> = { Test: [...health.test] };
      if (health.interval) healthcheck.Interval = health.interval;
      if (health.timeout) healthcheck.Timeout = health.timeout;
      if (health.startPeriod) healthcheck.StartPeriod = health.startPeriod;
      if (health.startInterval) healthcheck.StartInterval = health.startInterval;
      if (health.retries) healthcheck.Retries = health.retries;
      config.Healthcheck = healthcheck;
      const text =
        `{Test:${goList(health.test)} Interval:${formatGoDuration(health.interval)} Timeout:${formatGoDuration(health.timeout)}` +
        ` StartPeriod:${formatGoDuration(health.startPeriod)} StartInterval:${formatGoDuration(health.startInterval)} Retries:${health.retries}}`;
      return commitHistory(state, `HEALTHCHECK ${text}`, { layer: false });
    }
    case "MAINTAINER":
      warn(ctx, range, "maintainer-deprecated", "Maintainer instruction is deprecated in favor of using label");
      state.image.author = instruction.maintainer;
      return commitHistory(state, `MAINTAINER ${instruction.maintainer}`, { layer: false });
    case "ONBUILD":
      // Recorded for images built FROM this one; BuildKit adds no history entry for it.
      config.OnBuild = [...(config.OnBuild ?? []), instruction.expression];
      return;
    case "FROM":
      // Starts a stage; never one of its commands, not even as an ONBUILD trigger.
      throw new TsbuildError("INTERNAL", "FROM dispatched as a stage command");
    default:
      assertNever(instruction);
  }
}

/** BuildKit's MultipleInstructionsDisallowed: the earlier one is ignored, so it is reported. */
function warnUsedOnce(ctx: ConvertContext, state: StageState, instruction: Instruction): void {
  const previous = state.lastUse.get(instruction.kind);
  if (previous) {
    warn(ctx, previous, "multiple-instructions-disallowed", `Multiple ${instruction.kind} instructions should not be used in the same stage because only the last one will be used`);
  }
  state.lastUse.set(instruction.kind, instruction.range);
  if ((instruction.kind === "CMD" || instruction.kind === "ENTRYPOINT") && instruction.prependShell && !(state.image.config.Shell?.length)) {
    warn(ctx, instruction.range, "json-args-recommended", `JSON arguments recommended for ${instruction.kind} to prevent unintended behavior related to OS signals`);
  }
}

function warnLegacyKeyValue(ctx: ConvertContext, instruction: Extract<Instruction, { kind: "ENV" | "LABEL" }>): void {
  if (instruction.pairs.some((pair) => !pair.equals)) {
    const name = instruction.kind;
    warn(ctx, instruction.range, "legacy-key-value-format", `"${name} key=value" should be used instead of legacy "${name} key value" format`);
  }
}

function dispatchArg(ctx: ConvertContext, state: StageState, command: Command): void {
  const instruction = command.instruction as Extract<Instruction, { kind: "ARG" }>;
  const parts: string[] = [];
  for (const declaration of instruction.args) {
    const key = declaration.key;
    const fromBuildArg = Object.hasOwn(ctx.buildArgs, key);
    let value = declaration.value;
    if (value === undefined && !fromBuildArg && ctx.globalArgs.has(key)) {
      // `ARG NAME` in a stage re-declares a global ARG and takes its value.
      value = ctx.globalArgs.get(key);
    } else if (fromBuildArg) {
      value = ctx.buildArgs[key];
    } else if (value !== undefined) {
      value = expandInStage(ctx, state, instruction.range, value);
    }
    if (value !== undefined && !NON_ENV_ARGS.has(key)) state.env.set(key, value);
    state.usedArgs.add(key);
    state.buildArgs.push({ key, value });
    parts.push(value === undefined ? key : `${key}=${value}`);
  }
  commitHistory(state, `ARG ${parts.join(" ")}`, { layer: false });
}

/** Replaces a variable in an image config's Env in place, or appends it. */
function setEnv(config: { Env?: string[] }, key: string, value: string): void {
  const env = config.Env ?? [];
  const index = env.findIndex((item) => (item.includes("=") ? item.slice(0, item.indexOf("=")) : item) === key);
  if (index === -1) env.push(`${key}=${value}`);
  else env[index] = `${key}=${value}`;
  config.Env = env;
}

function isValidSignal(signal: string): boolean {
  if (/^[+-]?\d+$/.test(signal)) return Number(signal) !== 0;
  return SIGNALS.has(signal.toUpperCase().replace(/^SIG/, ""));
}

function assertNever(value: never): never {
  throw new TsbuildError("INTERNAL", `Unhandled instruction kind ${JSON.stringify((value as { kind?: string }).kind)}`);
}
