import { TsbuildError } from "../../errors.js";
import type { Command } from "../command.js";
import { COMMANDS } from "../commands.js";
import { completionScript } from "../completion-script.js";

export const completionCommand: Command = {
  name: "completion",
  summary: "Print a shell completion script (bash or zsh)",
  usage: "completion bash|zsh",
  description: 'Load it in the current shell with: source <(tsbuild completion bash). For every shell: tsbuild completion bash > /etc/bash_completion.d/tsbuild, or tsbuild completion zsh > "${fpath[1]}/_tsbuild".',
  options: [],
  positionals: { min: 1, max: 1 },
  async run(context) {
    const shell = context.positionals[0];
    if (shell !== "bash" && shell !== "zsh") throw new TsbuildError("USAGE", `Cannot complete for shell "${shell}"`, { hint: "Use bash or zsh" });
    // Every command's metadata, as --help reads it: the script is made once, so loading all is fine.
    const commands = await Promise.all(COMMANDS.map((entry) => entry.load()));
    context.stdout.write(completionScript(shell, commands));
    return 0;
  },
};
