import type { DockerfileAst, HeredocNode, InstructionNode } from "../../parser/ast.js";
import { DockerfileSyntaxError } from "../../parser/syntax-error.js";
import { buildkitSuggestion, inCaseOf, withSuggestion } from "../../util/did-you-mean.js";
import { parseGoDuration } from "./go-duration.js";
import { parseFlags, type FlagSpec, type ParsedFlags } from "./parse-flags.js";
import type {
  ArgDeclaration,
  ArgInstruction,
  CopyInstruction,
  DockerfileInstructions,
  FromInstruction,
  HealthcheckConfig,
  HeredocFile,
  Instruction,
  KeyValue,
  Stage,

} from "./types.js";

/** The flags each instruction accepts; anything else is "unknown flag" with a suggestion. */
const FLAGS: Readonly<Record<string, FlagSpec>> = {
  from: { platform: "string" },
  run: { mount: "strings", network: "string", security: "string" },
  copy: { from: "string", chown: "string", chmod: "string", link: "bool", parents: "bool", exclude: "strings" },
  add: { chown: "string", chmod: "string", link: "bool", checksum: "string", "keep-git-dir": "bool", exclude: "strings", unpack: "bool" },
  healthcheck: { interval: "string", timeout: "string", "start-period": "string", "start-interval": "string", retries: "string" },
};

const KEYWORDS = [
  "FROM", "RUN", "CMD", "LABEL", "MAINTAINER", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT",
  "VOLUME", "USER", "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL",
];

const STAGE_NAME = /^[a-z][a-z0-9-_.]*$/;

/** Context shared by the per-instruction parsers: the file name for error locations. */
interface Ctx {
  file: string;
}

/**
 * Turns a parsed Dockerfile into typed instructions grouped by stage, enforcing BuildKit's
 * rules for arguments and flags. Errors are DockerfileSyntaxErrors at the instruction.
 */
export function parseInstructions(ast: DockerfileAst): DockerfileInstructions {
  const ctx: Ctx = { file: ast.file };
  const metaArgs: ArgInstruction[] = [];
  const stages: Stage[] = [];
  for (const node of ast.instructions) {
    const instruction = parseInstruction(node, { file: ast.file });
    if (instruction.kind === "FROM") {
      const name = instruction.stageName;
      stages.push({ from: instruction, name, index: stages.length, docComment: name ? docComment(node, name) : "", commands: [] });
    } else if (stages.length === 0) {
      if (instruction.kind !== "ARG") {
        throw error(ctx, node, "no build stage in current context", "A Dockerfile starts with FROM; only ARG may come before it");
      }
      metaArgs.push(instruction);
    } else {
      stages[stages.length - 1].commands.push(instruction);
    }
  }
  if (stages.length === 0) {
    const last = ast.instructions[ast.instructions.length - 1];
    throw new DockerfileSyntaxError("dockerfile contains no stages to build", { file: ast.file, line: last?.range.end.line ?? 1, column: 1 }, {
      hint: "Add a FROM instruction",
    });
  }
  return { file: ast.file, escapeToken: ast.escapeToken, metaArgs, stages };
}

/** Parses one instruction node (also used for `commit -c` changes and ONBUILD triggers). */
export function parseInstruction(node: InstructionNode, options: { file: string }): Instruction {
  const ctx: Ctx = { file: options.file };
  const base = { node, range: node.range };
  const args = node.args.map((a) => a.value);
  const flags = parseFlags(node, FLAGS[node.name] ?? {}, ctx);
  switch (node.name) {
    case "from":
      return parseFrom(ctx, node, args, flags);
    case "run": {
      return {
        kind: "RUN",
        ...base,
        prependShell: !node.json,
        args,
        mounts: flags.lists.get("mount") ?? [],
        network: flags.strings.get("network"),
        security: flags.strings.get("security"),
        files: node.heredocs.map((h) => heredocFile(h, false)),
        flagsUsed: flags.used,
      };
    }
    case "cmd":
      return { kind: "CMD", ...base, prependShell: !node.json, args };
    case "entrypoint":
      return { kind: "ENTRYPOINT", ...base, prependShell: !node.json, args };
    case "shell":
      if (args.length === 0) throw atLeastOne(ctx, node);
      if (!node.json) {
        throw error(ctx, node, "SHELL requires the arguments to be in JSON form", 'Write it as SHELL ["/bin/sh", "-c"]');
      }
      return { kind: "SHELL", ...base, shell: args };
    case "env":
    case "label": {
      const pairs = keyValues(ctx, node, args);
      return node.name === "env" ? { kind: "ENV", ...base, pairs } : { kind: "LABEL", ...base, pairs };
    }
    case "arg":
      if (args.length === 0) throw atLeastOne(ctx, node);
      return { kind: "ARG", ...base, args: args.map((word) => argDeclaration(node, word)) };
    case "add":
    case "copy":
      return parseCopy(ctx, node, args, flags);
    case "workdir":
      return { kind: "WORKDIR", ...base, path: exactlyOne(ctx, node, args) };
    case "user":
      return { kind: "USER", ...base, user: exactlyOne(ctx, node, args) };
    case "stopsignal":
      return { kind: "STOPSIGNAL", ...base, signal: exactlyOne(ctx, node, args) };
    case "maintainer":
      return { kind: "MAINTAINER", ...base, maintainer: exactlyOne(ctx, node, args) };
    case "expose":
      if (args.length === 0) throw atLeastOne(ctx, node);
      return { kind: "EXPOSE", ...base, ports: args };
    case "volume":
      if (args.length === 0) throw atLeastOne(ctx, node);
      for (const volume of args) {
        if (volume.trim() === "") throw error(ctx, node, "VOLUME specified can not be an empty string");
      }
      return { kind: "VOLUME", ...base, volumes: args };
    case "healthcheck":
      return { kind: "HEALTHCHECK", ...base, healthcheck: parseHealthcheck(ctx, node, args, flags) };
    case "onbuild":
      return parseOnbuild(ctx, node);
    default: {
      const suggestion = buildkitSuggestion(node.keyword, KEYWORDS, { caseSensitive: false });
      // BuildKit's words, its suggestion included: `unknown instruction: RUNN (did you mean RUN?)`.
      throw error(ctx, node, withSuggestion(`unknown instruction: ${node.keyword}`, suggestion && inCaseOf(suggestion, node.keyword)));
    }
  }
}

function parseFrom(ctx: Ctx, node: InstructionNode, args: string[], flags: ParsedFlags): FromInstruction {
  const hasAlias = args.length === 3 && args[1].toLowerCase() === "as";
  if (args.length !== 1 && !hasAlias) {
    throw error(ctx, node, "FROM requires either one or three arguments", "Write it as FROM IMAGE or FROM IMAGE AS NAME");
  }
  let stageName: string | undefined;
  if (hasAlias) {
    stageName = args[2].toLowerCase();
    if (!STAGE_NAME.test(stageName)) {
      throw error(ctx, node, `invalid name for build stage: "${args[2]}", name can't start with a number or contain symbols`);
    }
  }
  return { kind: "FROM", node, range: node.range, image: args[0], stageName, platform: flags.strings.get("platform") };
}

function parseCopy(ctx: Ctx, node: InstructionNode, args: string[], flags: ParsedFlags): CopyInstruction {
  const keyword = node.name.toUpperCase();
  if (args.length === 0) throw error(ctx, node, `${keyword} requires at least two arguments`);
  if (args.length === 1) {
    throw error(ctx, node, `${keyword} requires at least two arguments, but only one was provided. Destination could not be determined`, `Write it as ${keyword} SOURCE... DESTINATION`);
  }
  const destination = args[args.length - 1];
  const heredocs = [...node.heredocs];
  if (isHeredocWord(destination) && heredocs.length > 0) {
    throw error(ctx, node, `${keyword} cannot accept a heredoc as a destination`);
  }
  const sources: string[] = [];
  const sourceContents: HeredocFile[] = [];
  for (const source of args.slice(0, -1)) {
    const heredoc = isHeredocWord(source) ? heredocs.shift() : undefined;
    if (heredoc) sourceContents.push(heredocFile(heredoc, true));
    else sources.push(source);
  }
  const isAdd = node.name === "add";
  return {
    kind: isAdd ? "ADD" : "COPY",
    node,
    range: node.range,
    sources,
    sourceContents,
    destination,
    from: flags.strings.get("from"),
    chown: flags.strings.get("chown"),
    chmod: flags.strings.get("chmod"),
    link: flags.bools.get("link") ?? false,
    parents: flags.bools.get("parents") ?? false,
    excludes: flags.lists.get("exclude") ?? [],
    checksum: flags.strings.get("checksum"),
    keepGitDir: flags.bools.get("keep-git-dir") ?? false,
    unpack: flags.bools.get("unpack"),
  };
}

function parseHealthcheck(ctx: Ctx, node: InstructionNode, args: string[], flags: ParsedFlags): HealthcheckConfig {
  if (args.length === 0) throw atLeastOne(ctx, node);
  const type = args[0].toUpperCase();
  const none: HealthcheckConfig = { test: ["NONE"], interval: 0, timeout: 0, startPeriod: 0, startInterval: 0, retries: 0 };
  if (type === "NONE") {
    if (args.length > 1) throw error(ctx, node, "HEALTHCHECK NONE takes no arguments");
    return none;
  }
  if (type !== "CMD") throw error(ctx, node, `Unknown type "${args[0]}" in HEALTHCHECK (try CMD)`);
  const command = args.slice(1);
  const test = node.json ? ["CMD", ...command] : ["CMD-SHELL", command.join(" ")];
  const duration = (name: string): number => {
    const text = flags.strings.get(name);
    if (text === undefined || text === "") return 0;
    const ns = parseGoDuration(text);
    if (ns === undefined) throw error(ctx, node, `time: invalid duration "${text}"`, `Give --${name} as a duration such as 30s or 1m30s`);
    if (ns === 0) return 0;
    if (ns < 1e6) throw error(ctx, node, `Interval "${name}" cannot be less than 1ms`);
    return ns;
  };
  let retries = 0;
  const retriesText = flags.strings.get("retries");
  if (retriesText !== undefined) {
    if (!/^[+-]?\d+$/.test(retriesText)) throw error(ctx, node, `strconv.ParseInt: parsing "${retriesText}": invalid syntax`, "Give --retries as a whole number");
    retries = Number(retriesText);
    if (retries < 0) throw error(ctx, node, `--retries cannot be negative (${retries})`);
  }
  return {
    test,
    interval: duration("interval"),
    timeout: duration("timeout"),
    startPeriod: duration("start-period"),
    startInterval: duration("start-interval"),
    retries,
  };
}

function parseOnbuild(ctx: Ctx, node: InstructionNode): Instruction {
  const child = node.child;
  if (!child) throw atLeastOne(ctx, node);
  if (child.name === "onbuild") throw error(ctx, node, "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
  if (child.name === "from" || child.name === "maintainer") {
    throw error(ctx, node, `${child.keyword.toUpperCase()} isn't allowed as an ONBUILD trigger`);
  }
  const trigger = parseInstruction(child, ctx);
  // As BuildKit's parseOnBuild: heredoc bodies follow the line, each closed by its
  // terminator, so the trigger text stored in the image still holds them.
  const expression = node.heredocs.reduce((text, heredoc) => `${text}\n${heredoc.content}${heredoc.name}`, child.original);
  return { kind: "ONBUILD", node, range: node.range, expression, trigger };
}

function keyValues(ctx: Ctx, node: InstructionNode, args: string[]): KeyValue[] {
  const keyword = node.name.toUpperCase();
  if (args.length === 0) throw atLeastOne(ctx, node);
  if (args.length % 3 !== 0) throw error(ctx, node, `Bad input to ${keyword}, too many arguments`);
  const pairs: KeyValue[] = [];
  for (let i = 0; i < args.length; i += 3) {
    if (args[i] === "") throw error(ctx, node, `${keyword} names can not be blank`);
    pairs.push({ key: args[i], value: args[i + 1], equals: args[i + 2] === "=" });
  }
  return pairs;
}

function argDeclaration(node: InstructionNode, word: string): ArgDeclaration {
  const eq = word.indexOf("=");
  const key = eq === -1 ? word : word.slice(0, eq);
  return { key, value: eq === -1 ? undefined : word.slice(eq + 1), docComment: docComment(node, key) };
}

/** BuildKit's doc comments: a comment line above that starts with the name describes it. */
function docComment(node: InstructionNode, name: string): string {
  for (const raw of node.comments) {
    const line = raw.replace(/^\s*#?\s*/, "").trim();
    if (line.startsWith(`${name} `)) return line.slice(name.length + 1).trim();
  }
  return "";
}

function heredocFile(heredoc: HeredocNode, chompData: boolean): HeredocFile {
  // COPY/ADD write the body as a file, so `<<-` strips the leading tabs here; RUN keeps
  // the body and passes the chomp flag on, since the shell strips them itself.
  const data = chompData && heredoc.chomp ? heredoc.content.replace(/^\t+/gm, "") : heredoc.content;
  return { name: heredoc.name, data, expand: heredoc.expand, chomp: heredoc.chomp, fileDescriptor: heredoc.fileDescriptor };
}

function isHeredocWord(word: string): boolean {
  return /^[0-9]*<<-?./.test(word);
}

function exactlyOne(ctx: Ctx, node: InstructionNode, args: string[]): string {
  if (args.length !== 1) throw error(ctx, node, `${node.name.toUpperCase()} requires exactly one argument`);
  return args[0];
}

function atLeastOne(ctx: Ctx, node: InstructionNode): DockerfileSyntaxError {
  return error(ctx, node, `${node.name.toUpperCase()} requires at least one argument`);
}

function error(ctx: Ctx, node: InstructionNode, reason: string, hint?: string): DockerfileSyntaxError {
  return new DockerfileSyntaxError(
    reason,
    { file: ctx.file, line: node.range.start.line, column: node.range.start.column, endLine: node.range.end.line },
    hint ? { hint } : {},
  );
}

