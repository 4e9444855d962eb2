import { TsbuildError } from "../errors.js";
import { isIdentityMap, mapsId, type IdMapping } from "../util/id-mapping.js";
import type { RuntimeSpec } from "./runtime-spec.js";
import { SUBGID_FILE, SUBUID_FILE } from "./subordinate-ids.js";

/**
 * A sandbox's config.json as a runtime in a user namespace (rootless) can carry it out. The
 * runtime is root there, over the ids the namespace maps and nothing else, so:
 *
 * - /sys: mounting sysfs needs a network namespace the user namespace owns. The default
 *   network and `none` are such; the host's (`--network=host`) is not, so /sys is the
 *   host's bound read-only instead, as runc's and podman's rootless specs do.
 * - A user or group the namespace does not map cannot be switched to: a clear error naming
 *   /etc/subuid and /etc/subgid (only a namespace without subordinate ranges lacks them).
 * - Supplementary groups need setgroups(2), which a namespace of one id forbids, and ids it
 *   maps; devpts' `gid=5` needs gid 5 mapped.
 * - Device nodes cannot be created, only bound from the host, so insecure mode adds none
 *   (as BuildKit's insecure mode in a user namespace).
 *
 * In the initial namespace (rootful) the spec is returned as it is.
 */
export function adaptSpecToUserNamespace(spec: RuntimeSpec, options: { mapping: IdMapping; hostNetwork: boolean }): RuntimeSpec {
  const { mapping } = options;
  if (isIdentityMap(mapping.uids)) return spec;
  const { user } = spec.process;
  if (!mapsId(mapping.uids, user.uid) || !mapsId(mapping.gids, user.gid)) throw unmappedUser(user.uid, user.gid, mapping);
  const setgroups = mapping.gids.length > 1 || mapping.gids[0]?.count !== 1;
  const additionalGids = setgroups ? (user.additionalGids ?? []).filter((gid) => mapsId(mapping.gids, gid)) : [];
  const mounts = spec.mounts.map((mount) => {
    if (mount.destination === "/sys" && mount.type === "sysfs" && options.hostNetwork) {
      const writable = mount.options?.includes("rw") === true;
      return { destination: "/sys", type: "none", source: "/sys", options: ["rbind", "nosuid", "noexec", "nodev", writable ? "rw" : "ro"] };
    }
    if (mount.type === "devpts" && !mapsId(mapping.gids, 5)) return { ...mount, options: (mount.options ?? []).filter((option) => option !== "gid=5") };
    return mount;
  });
  const { devices: _devices, ...linux } = spec.linux;
  return { ...spec, process: { ...spec.process, user: { ...user, additionalGids } }, mounts, linux };
}

/** The error for a process owner the namespace cannot switch to. */
export function unmappedUser(uid: number, gid: number, mapping: IdMapping): TsbuildError {
  const which = mapsId(mapping.uids, uid) ? `gid ${gid}` : `uid ${uid}`;
  return new TsbuildError("ROOTLESS", `Cannot run a process as ${uid}:${gid} rootless: ${which} is not mapped, as this user has no ranges in ${SUBUID_FILE} and ${SUBGID_FILE}`, {
    hint: "Add ranges for the user to both files (README: Rootless); the next command maps them",
  });
}
