import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeBusyboxRootfs } from "./busybox-rootfs.js";

/** Where scripts/setup.sh keeps Debian's busybox-static for arm64 (tests have no network to fetch it). */
export const ARM64_BUSYBOX_DEB = "/var/cache/tsbuild/busybox-static_arm64.deb";

let made: Promise<string> | undefined;

/**
 * A rootfs tar like the amd64 one the build tests import (test/helpers/busybox-rootfs.ts),
 * around the arm64 /bin/busybox of the .deb setup.sh downloaded: unpacked with dpkg-deb once
 * per process, in the OS temp dir, removed at exit. Listing busybox's applets runs the arm64
 * binary, so this needs the emulator setup.sh registers.
 */
export function arm64BusyboxTar(): Promise<string> {
  made ??= (async () => {
    if (!existsSync(ARM64_BUSYBOX_DEB)) throw new Error(`${ARM64_BUSYBOX_DEB} is missing: run scripts/setup.sh (as root) first`);
    const dir = await mkdtemp(join(tmpdir(), "tsb-busybox-arm64-"));
    process.once("exit", () => execFileSync("rm", ["-rf", dir]));
    const deb = join(dir, "deb");
    execFileSync("dpkg-deb", ["-x", ARM64_BUSYBOX_DEB, deb]);
    const rootfs = join(dir, "rootfs");
    await mkdir(rootfs);
    await makeBusyboxRootfs(rootfs, { busybox: join(deb, "bin/busybox") });
    const tar = join(dir, "rootfs.tar");
    execFileSync("tar", ["--numeric-owner", "-C", rootfs, "-cf", tar, "."]);
    return tar;
  })();
  return made;
}
