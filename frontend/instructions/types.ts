import type { InstructionNode, SourceRange } from "../../parser/ast.js";

/**
 * Typed instructions: the layer above the AST. Flags are parsed and checked, argument
 * counts enforced, heredocs attached where they belong. Values are still RAW (no variable
 * expansion): the frontend expands them per stage with the build's ARG and ENV scope.
 */

interface Base {
  /** The AST node, for its source range and original text. */
  node: InstructionNode;
  range: SourceRange;
}

/** A `key=value` pair of ENV or LABEL, or an ARG declaration, raw. */
export interface KeyValue {
  key: string;
  value: string;
  /** False for the legacy `ENV key value` form, whose value is the raw rest of the line. */
  equals: boolean;
}

export interface ArgDeclaration {
  key: string;
  /** Undefined for `ARG name` without a default. */
  value: string | undefined;
  /** From a `# name does something` comment directly above. */
  docComment: string;
}

/** A heredoc that becomes a file: a RUN script body, or a COPY/ADD inline source. */
export interface HeredocFile {
  name: string;
  /** The body, with leading tabs removed for `<<-` when the instruction chomps it (COPY/ADD). */
  data: string;
  expand: boolean;
  chomp: boolean;
  fileDescriptor: number;
}

export interface FromInstruction extends Base {
  kind: "FROM";
  image: string;
  /** The stage name after AS, lower-cased as BuildKit does. */
  stageName: string | undefined;
  platform: string | undefined;
}

/** Exec form (a JSON array) or shell form (one string run by the stage's SHELL). */
export interface CommandLine {
  /** True for shell form: the frontend prepends the SHELL. */
  prependShell: boolean;
  args: string[];
}

export interface RunInstruction extends Base, CommandLine {
  kind: "RUN";
  /** Raw `--mount` specs, in order. */
  mounts: string[];
  network: string | undefined;
  security: string | undefined;
  /** Heredoc bodies, attached as script files. */
  files: HeredocFile[];
  /** Names of the flags that were given, as BuildKit's FlagsUsed. */
  flagsUsed: string[];
}

export interface CmdInstruction extends Base, CommandLine {
  kind: "CMD";
}

export interface EntrypointInstruction extends Base, CommandLine {
  kind: "ENTRYPOINT";
}

export interface ShellInstruction extends Base {
  kind: "SHELL";
  shell: string[];
}

export interface EnvInstruction extends Base {
  kind: "ENV";
  pairs: KeyValue[];
}

export interface LabelInstruction extends Base {
  kind: "LABEL";
  pairs: KeyValue[];
}

export interface ArgInstruction extends Base {
  kind: "ARG";
  args: ArgDeclaration[];
}

export interface CopyInstruction extends Base {
  kind: "COPY" | "ADD";
  sources: string[];
  /** Heredoc bodies given as sources. */
  sourceContents: HeredocFile[];
  destination: string;
  from: string | undefined;
  chown: string | undefined;
  chmod: string | undefined;
  link: boolean;
  parents: boolean;
  excludes: string[];
  /** ADD only. */
  checksum: string | undefined;
  /** ADD only. */
  keepGitDir: boolean;
  /** ADD only: undefined means "as ADD decides" (auto-extract local archives). */
  unpack: boolean | undefined;
}

export interface WorkdirInstruction extends Base {
  kind: "WORKDIR";
  path: string;
}

export interface UserInstruction extends Base {
  kind: "USER";
  user: string;
}

export interface ExposeInstruction extends Base {
  kind: "EXPOSE";
  ports: string[];
}

export interface VolumeInstruction extends Base {
  kind: "VOLUME";
  volumes: string[];
}

export interface StopSignalInstruction extends Base {
  kind: "STOPSIGNAL";
  signal: string;
}

export interface MaintainerInstruction extends Base {
  kind: "MAINTAINER";
  maintainer: string;
}

/** A health check as the image config stores it (durations in nanoseconds, 0 = default). */
export interface HealthcheckConfig {
  /** `["NONE"]`, `["CMD", ...args]` or `["CMD-SHELL", command]`. */
  test: string[];
  interval: number;
  timeout: number;
  startPeriod: number;
  startInterval: number;
  retries: number;
}

export interface HealthcheckInstruction extends Base {
  kind: "HEALTHCHECK";
  healthcheck: HealthcheckConfig;
}

export interface OnbuildInstruction extends Base {
  kind: "ONBUILD";
  /** The trigger as written after ONBUILD (`RUN echo hi`), stored in the image's OnBuild. */
  expression: string;
  trigger: Instruction;
}

export type Instruction =
  | FromInstruction
  | RunInstruction
  | CmdInstruction
  | EntrypointInstruction
  | ShellInstruction
  | EnvInstruction
  | LabelInstruction
  | ArgInstruction
  | CopyInstruction
  | WorkdirInstruction
  | UserInstruction
  | ExposeInstruction
  | VolumeInstruction
  | StopSignalInstruction
  | MaintainerInstruction
  | HealthcheckInstruction
  | OnbuildInstruction;

/** Instructions that may appear inside a stage (everything but FROM). */
export type StageInstruction = Exclude<Instruction, FromInstruction>;

export interface Stage {
  from: FromInstruction;
  /** The name after AS, or undefined. */
  name: string | undefined;
  index: number;
  /** From a `# <name> does something` comment above the FROM. */
  docComment: string;
  commands: StageInstruction[];
}

/** A whole Dockerfile in typed form. */
export interface DockerfileInstructions {
  /** The file name the Dockerfile came from, for messages. */
  file: string;
  /** The escape character of the Dockerfile (its `# escape=` directive), for expansion. */
  escapeToken: "\\" | "`";
  /** ARGs before the first FROM: the only variables FROM lines can see. */
  metaArgs: ArgInstruction[];
  stages: Stage[];
}
