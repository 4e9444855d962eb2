import { access, constants, readFile } from "node:fs/promises";
import { join } from "node:path";
import { inUserNamespace } from "../util/id-mapping.js";
import { detectCgroupMode } from "./cgroup-mode.js";
import type { ResourceLimits } from "./types.js";

/**
 * Resource limits for a rootless tsbuild. Its sandboxes get a cgroup only where the host
 * delegates one to the user: cgroup v2 (unified), the user's own cgroup writable, with the
 * controllers the limits need enabled below it (systemd does this for `user@.service`). A
 * v1 or hybrid host delegates nothing, so the limits cannot hold there: the build runs
 * without them and says so once, rather than failing every RUN.
 */

export interface Delegation {
  delegated: boolean;
  /** Why not, in words for a warning. */
  reason?: string;
}

const CGROUP_ROOT = "/sys/fs/cgroup";

/** Whether this process's cgroup is delegated to it (always true outside a user namespace: root decides). */
export async function cgroupDelegation(): Promise<Delegation> {
  if (!inUserNamespace()) return { delegated: true };
  const mode = await detectCgroupMode();
  if (mode !== "v2") return { delegated: false, reason: `this host's cgroups are ${mode === "none" ? "not mounted" : `${mode === "hybrid" ? "hybrid (v1 controllers)" : "v1"}`}, which cannot be delegated to a user` };
  const own = /^0::(.*)$/m.exec(await readFile("/proc/self/cgroup", "utf8").catch(() => ""))?.[1];
  const dir = join(CGROUP_ROOT, own ?? "/");
  const writable = await access(join(dir, "cgroup.subtree_control"), constants.W_OK).then(() => true, () => false);
  const controllers = (await readFile(join(dir, "cgroup.controllers"), "utf8").catch(() => "")).split(/\s+/);
  if (!writable || !["memory", "pids", "cpu"].every((name) => controllers.includes(name))) {
    return { delegated: false, reason: `the cgroup "${own ?? "?"}" is not delegated to this user (systemd delegates one to a login session's user@.service)` };
  }
  return { delegated: true };
}

/** The limits a rootless build can apply, and the one warning when it must drop them. */
export async function applicableLimits(limits: ResourceLimits | undefined): Promise<{ limits?: ResourceLimits; warning?: string }> {
  if (limits === undefined || Object.values(limits).every((value) => value === undefined)) return limits === undefined ? {} : { limits };
  const delegation = await cgroupDelegation();
  if (delegation.delegated) return { limits };
  return { warning: `Resource limits (--memory, --cpus, --pids-limit) are not applied: running rootless, and ${delegation.reason}` };
}
