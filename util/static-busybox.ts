import { isExecutableSync } from "./is-executable.js";

let found: string | null | undefined;

/**
 * The busybox binary when one is installed (setup.sh installs busybox-static), else
 * undefined. Its applets start in a fraction of the time of dash plus util-linux's
 * programs (no dynamic loader, no libmount reading the mount table), which counts for the
 * mount, umount and wrapper shell paid on every RUN.
 */
export function staticBusybox(): string | undefined {
  found ??= ["/bin/busybox", "/usr/bin/busybox"].find(isExecutableSync) ?? null;
  return found ?? undefined;
}
