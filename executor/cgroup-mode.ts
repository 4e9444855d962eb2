import { readTextOrEmptySync } from "../util/read-small-file.js";

/**
 * How the host mounts cgroups: `v2` (unified only), `v1` (legacy controllers only), or
 * `hybrid` (v1 controllers plus a cgroup2 mount, typically /sys/fs/cgroup/unified). crun 1.8
 * refuses hybrid hosts ("cgroups in hybrid mode not supported"); see `OciRuntime`.
 */
export type CgroupMode = "v1" | "v2" | "hybrid" | "none";

/** Reads the mount table of this process to tell the cgroup layout. */
export async function detectCgroupMode(mountinfoPath = "/proc/self/mountinfo"): Promise<CgroupMode> {
  const text = readTextOrEmptySync(mountinfoPath);
  let v1 = false;
  let v2Root = false;
  let v2Elsewhere = false;
  for (const line of text.split("\n")) {
    // Fields: id parent major:minor root mountpoint options [optional...] - fstype source superoptions
    const separator = line.indexOf(" - ");
    if (separator === -1) continue;
    const mountPoint = line.slice(0, separator).split(" ")[4];
    const fsType = line.slice(separator + 3).split(" ")[0];
    if (fsType === "cgroup") v1 = true;
    if (fsType === "cgroup2") {
      if (mountPoint === "/sys/fs/cgroup") v2Root = true;
      else v2Elsewhere = true;
    }
  }
  if (v2Root) return "v2";
  if (v1 && v2Elsewhere) return "hybrid";
  if (v1) return "v1";
  return "none";
}

/** Where the hybrid layout mounts cgroup2, which the crun wrapper hides. */
export const HYBRID_CGROUP2_MOUNT = "/sys/fs/cgroup/unified";
