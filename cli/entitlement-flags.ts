import { resolve } from "node:path";
import { TsbuildError } from "../errors.js";
import type { SshSource } from "../executor/types.js";
import { ENTITLEMENTS, type Entitlement } from "../solver/check-entitlements.js";
import { didYouMean } from "../util/did-you-mean.js";
import { statIfExists } from "../util/stat-if-exists.js";

/**
 * `--ssh default|ID[=SOCKET]`, as buildx reads it: an id without a path means the agent of
 * `$SSH_AUTH_SOCK`. buildx also takes key files (and starts an agent of its own for them);
 * tsbuild forwards agent sockets only, and says so.
 */
export async function parseSshFlags(specs: readonly string[], options: { cwd: string; env: Record<string, string | undefined> }): Promise<Record<string, SshSource>> {
  const sources: Record<string, SshSource> = {};
  for (const spec of specs) {
    const eq = spec.indexOf("=");
    const id = (eq === -1 ? spec : spec.slice(0, eq)).trim() || "default";
    const paths = eq === -1 ? [] : spec.slice(eq + 1).split(",").filter((path) => path !== "");
    if (sources[id] !== undefined) throw new TsbuildError("USAGE", `Cannot parse flag "--ssh": id "${id}" is given twice`);
    if (paths.length > 1) {
      throw new TsbuildError("USAGE", `Cannot parse flag "--ssh": "${spec}" names ${paths.length} paths; only one agent socket is supported`, {
        hint: `Load the keys into one agent (ssh-add KEY...) and pass --ssh ${id}=SOCKET`,
      });
    }
    const agent = options.env.SSH_AUTH_SOCK;
    if (paths.length === 0 && (agent === undefined || agent === "")) {
      throw new TsbuildError("USAGE", `Cannot parse flag "--ssh": "${spec}" names no socket and SSH_AUTH_SOCK is not set`, {
        hint: `Start an agent (eval "$(ssh-agent)" && ssh-add) or pass --ssh ${id}=SOCKET`,
      });
    }
    const socket = paths.length === 0 ? agent! : resolve(options.cwd, paths[0]);
    const found = await statIfExists(socket);
    if (found === undefined) throw new TsbuildError("USAGE", `Cannot parse flag "--ssh": "${socket}" does not exist`);
    if (!found.isSocket()) {
      throw new TsbuildError("USAGE", `Cannot parse flag "--ssh": "${socket}" is not an agent socket (key files are not supported)`, {
        hint: `Load the key into an agent (eval "$(ssh-agent)" && ssh-add ${paths[0] ?? "KEY"}) and pass --ssh ${id} or --ssh ${id}=$SSH_AUTH_SOCK`,
      });
    }
    sources[id] = { socket };
  }
  return sources;
}

/** `--allow ENTITLEMENT` (repeatable, or comma-separated), as buildx reads it. */
export function parseAllowFlags(values: readonly string[]): Entitlement[] {
  const allowed: Entitlement[] = [];
  for (const value of values.flatMap((v) => v.split(","))) {
    const name = value.trim();
    if (name === "") continue;
    if (!(ENTITLEMENTS as readonly string[]).includes(name)) {
      const suggestion = didYouMean(name, ENTITLEMENTS);
      throw new TsbuildError("USAGE", `Cannot parse flag "--allow": unknown entitlement "${name}"`, {
        hint: suggestion ? `Did you mean "${suggestion}"?` : `Use one of ${ENTITLEMENTS.join(", ")}`,
      });
    }
    if (!allowed.includes(name as Entitlement)) allowed.push(name as Entitlement);
  }
  return allowed;
}
