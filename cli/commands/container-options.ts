import type { CommandContext, OptionSpec } from "../command.js";
import { reportError } from "../report-error.js";

/** The flags `run` shares with `create`-like commands, as docker spells them. */
export const RUN_OPTIONS: OptionSpec[] = [
  { name: "name", type: "string", valueName: "NAME", description: "Name the container" },
  { name: "rm", type: "boolean", description: "Remove the container when it exits" },
  { name: "detach", short: "d", type: "boolean", description: "Run in the background and print the container id" },
  { name: "env", short: "e", type: "string", multiple: true, valueName: "KEY=VALUE", description: "Set an environment variable (KEY alone: this shell's value)" },
  { name: "env-file", type: "string", multiple: true, valueName: "FILE", description: "Read KEY=VALUE lines from a file" },
  { name: "workdir", short: "w", type: "string", valueName: "DIR", description: "Working directory inside the container" },
  { name: "user", short: "u", type: "string", valueName: "USER", description: "User name or uid, optionally :group" },
  { name: "volume", short: "v", type: "string", multiple: true, valueName: "SPEC", description: "HOST:CTR[:ro], NAME:CTR[:ro] or /CTR (anonymous volume)" },
  {
    name: "network",
    type: "string",
    valueName: "MODE",
    description: "default (a network of its own with outbound access, no way to the host's 127.0.0.1), host (the host's network, its loopback services included) or none",
  },
  { name: "publish", short: "p", type: "string", multiple: true, valueName: "[IP:][HOST:]PORT[/PROTO]", description: "Publish a container port on the host (default network)" },
  { name: "publish-all", short: "P", type: "boolean", description: "Publish every EXPOSEd port on a free host port" },
  { name: "add-host", type: "string", multiple: true, valueName: "NAME:IP", description: "Add a line to /etc/hosts" },
  { name: "dns", type: "string", multiple: true, valueName: "IP", description: "Use this nameserver in /etc/resolv.conf" },
  { name: "restart", type: "string", valueName: "POLICY", description: "no (default), on-failure[:MAX-RETRIES], always or unless-stopped: the container's shim restarts it" },
  { name: "hostname", short: "h", type: "string", valueName: "NAME", description: "The container's host name" },
  { name: "entrypoint", type: "string", valueName: "CMD", description: "Replace the image's ENTRYPOINT" },
  { name: "interactive", short: "i", type: "boolean", description: "Keep stdin open" },
  { name: "tty", short: "t", type: "boolean", description: "Give the process a terminal" },
];

/** The strings of a repeatable flag. */
export function listOption(value: string | boolean | string[] | undefined): string[] {
  return Array.isArray(value) ? value : typeof value === "string" ? [value] : [];
}

/** A string flag's value, or undefined. */
export function stringOption(value: string | boolean | string[] | undefined): string | undefined {
  return typeof value === "string" ? value : undefined;
}

/**
 * Runs `action` for each container named on the command line, as docker does: a failure is
 * reported and the others still go; the status is the worst failure's (0 when none failed).
 * `action` returns the line to print for its container.
 */
export async function forEachContainer(context: CommandContext, action: (name: string) => Promise<string>): Promise<number> {
  let status = 0;
  for (const name of context.positionals) {
    try {
      context.stdout.write(`${await action(name)}\n`);
    } catch (error) {
      status = Math.max(status, reportError(error, { write: (text) => context.stderr.write(text), sources: new Map() }));
    }
  }
  return status;
}
