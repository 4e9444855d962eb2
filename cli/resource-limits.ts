import type { ResourceLimits } from "../executor/types.js";
import { TsbuildError } from "../errors.js";
import type { CommandContext, OptionSpec } from "./command.js";

/** `--memory`, `--cpus` and `--pids-limit`, as docker spells them. */
export const RESOURCE_LIMIT_OPTIONS: OptionSpec[] = [
  { name: "memory", short: "m", type: "string", valueName: "BYTES", description: "Memory limit of each sandbox (b, k, m or g suffix: 512m)" },
  { name: "cpus", type: "string", valueName: "N", description: "CPU limit of each sandbox, in CPUs (0.5, 2)" },
  { name: "pids-limit", type: "string", valueName: "N", description: "Most processes alive at once in each sandbox" },
];

const UNITS: Record<string, number> = { "": 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** Reads the limit flags; undefined when none was given. */
export function parseResourceLimits(options: CommandContext["options"]): ResourceLimits | undefined {
  const limits: ResourceLimits = {};
  const memory = options.memory as string | undefined;
  if (memory !== undefined) {
    const match = /^(\d+(?:\.\d+)?)([bkmg]?)$/i.exec(memory.trim());
    if (!match || Number(match[1]) <= 0) throw usage("--memory", memory, "a size such as 512m or 2g");
    limits.memoryBytes = Math.floor(Number(match[1]) * UNITS[match[2].toLowerCase()]);
  }
  const cpus = options.cpus as string | undefined;
  if (cpus !== undefined) {
    if (!/^\d+(\.\d+)?$/.test(cpus) || Number(cpus) <= 0) throw usage("--cpus", cpus, "a positive number of CPUs such as 0.5");
    limits.cpus = Number(cpus);
  }
  const pids = options["pids-limit"] as string | undefined;
  if (pids !== undefined) {
    if (!/^\d+$/.test(pids) || Number(pids) <= 0) throw usage("--pids-limit", pids, "a positive whole number");
    limits.pids = Number(pids);
  }
  return Object.keys(limits).length === 0 ? undefined : limits;
}

function usage(flag: string, value: string, wanted: string): TsbuildError {
  return new TsbuildError("USAGE", `Cannot use ${flag} "${value}"`, { hint: `Give ${flag} ${wanted}` });
}
