import { TsbuildError } from "../errors.js";
import { parseInstruction } from "../frontend/instructions/parse-instructions.js";
import type { ContainerConfig } from "../oci/image-types.js";
import { parseInstructionLine } from "../parser/parse-dockerfile.js";
import { expandWord, expandWords } from "../parser/shell-lexer.js";

/** The instructions docker's `commit --change` accepts. */
const ALLOWED = ["CMD", "ENTRYPOINT", "ENV", "EXPOSE", "LABEL", "ONBUILD", "USER", "VOLUME", "WORKDIR", "STOPSIGNAL"];

/**
 * Applies `commit -c 'INSTRUCTION'` changes to an image config, in order, parsed by the
 * Dockerfile parser. Words are expanded against the config's Env as it stands, as docker does.
 *
 * @example
 * applyCommitChanges({ Env: [] }, ['CMD ["sh"]', "ENV A=1"]) // { Env: ["A=1"], Cmd: ["sh"] }
 */
export function applyCommitChanges(base: ContainerConfig, changes: readonly string[]): ContainerConfig {
  const config: ContainerConfig = structuredClone(base);
  for (const change of changes) {
    const instruction = parseInstruction(parseInstructionLine(change, { file: "--change" }), { file: "--change" });
    const env = config.Env ?? [];
    const expand = (word: string) => expandWord(word, env).value;
    const shell = config.Shell !== undefined && config.Shell.length > 0 ? config.Shell : ["/bin/sh", "-c"];
    switch (instruction.kind) {
      case "CMD":
        config.Cmd = instruction.prependShell ? [...shell, instruction.args.join(" ")] : [...instruction.args];
        break;
      case "ENTRYPOINT":
        config.Entrypoint = instruction.prependShell ? [...shell, instruction.args.join(" ")] : [...instruction.args];
        break;
      case "ENV": {
        const pairs = instruction.pairs.map((pair) => ({ key: expand(pair.key), value: expand(pair.value) }));
        const next = [...env];
        for (const { key, value } of pairs) {
          const index = next.findIndex((entry) => entry.startsWith(`${key}=`));
          if (index >= 0) next[index] = `${key}=${value}`;
          else next.push(`${key}=${value}`);
        }
        config.Env = next;
        break;
      }
      case "LABEL":
        config.Labels ??= {};
        for (const pair of instruction.pairs) config.Labels[expand(pair.key)] = expand(pair.value);
        break;
      case "EXPOSE":
        config.ExposedPorts ??= {};
        for (const port of instruction.ports.flatMap((word) => expandWords(word, env))) config.ExposedPorts[port.includes("/") ? port : `${port}/tcp`] = {};
        break;
      case "USER":
        config.User = expand(instruction.user);
        break;
      case "WORKDIR": {
        const path = expand(instruction.path);
        config.WorkingDir = path.startsWith("/") ? path : `${config.WorkingDir ?? "/"}/${path}`.replace(/\/+/g, "/");
        break;
      }
      case "VOLUME":
        config.Volumes ??= {};
        for (const volume of instruction.volumes.map(expand)) config.Volumes[volume] = {};
        break;
      case "STOPSIGNAL":
        config.StopSignal = expand(instruction.signal);
        break;
      case "ONBUILD":
        config.OnBuild = [...(config.OnBuild ?? []), instruction.expression];
        break;
      default:
        throw new TsbuildError("USAGE", `Cannot apply change "${change}": ${instruction.kind} is not one of ${ALLOWED.join(", ")}`);
    }
  }
  return config;
}
