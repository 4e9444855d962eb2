import { spawn } from "node:child_process";
import { constants } from "node:os";
import { TsbuildError } from "../../errors.js";
import { rootlessRuntimeDirOf } from "../../executor/rootless-mode.js";
import type { Command } from "../command.js";

/**
 * `podman unshare`'s counterpart: a command in the rootless user's namespace, as root there.
 * A rootless root holds files of the user's subordinate ids, which only a process in the
 * namespace may change or remove: `tsbuild unshare rm -rf ~/.local/share/tsbuild`.
 */
export const unshareCommand: Command = {
  name: "unshare",
  summary: "Run a command in the rootless user namespace (as its root)",
  usage: "unshare [COMMAND [ARG...]]",
  description: "Without a command, your $SHELL. Only for a user other than root: root needs no namespace.",
  options: [],
  positionals: { min: 0, max: Number.MAX_SAFE_INTEGER },
  stopAtFirstPositional: true,
  async run(context) {
    if (rootlessRuntimeDirOf(context.env) === undefined) {
      throw new TsbuildError("USAGE", "Cannot unshare: tsbuild runs as root here, which needs no user namespace", { hint: "Run the command itself" });
    }
    const [file, ...args] = context.positionals.length > 0 ? context.positionals : [context.env.SHELL || "/bin/sh"];
    const child = spawn(file, args, { stdio: "inherit", cwd: context.cwd, env: context.env });
    return new Promise<number>((resolve, reject) => {
      child.once("error", (error: NodeJS.ErrnoException) =>
        reject(new TsbuildError("USAGE", `Cannot run "${file}": ${error.code === "ENOENT" ? "command not found" : error.message}`, { cause: error })),
      );
      child.once("exit", (code, signal) => resolve(code ?? 128 + (signal === null ? 0 : (constants.signals[signal] ?? 0))));
    });
  },
};
